import Foundation
import Testing
import TrainplatCore

@Suite("Templates")
struct TemplateTests {
    let context = TemplateContext(
        params: ["n": .int(3), "name": .string("alpha")],
        taskOutputs: ["extract": ["rows": .int(120), "path": .string("/data/s.parquet")]],
        runID: "run-1",
        logicalTime: Date(timeIntervalSince1970: 1_764_374_400))  // 2025-11-29T00:00:00Z

    @Test func test_render_singleExpression_keepsTheValueType() throws {
        #expect(try Template.render("{{ params.n }}", in: context) == .int(3))
        #expect(try Template.render("{{tasks.extract.outputs.rows}}", in: context) == .int(120))
    }

    @Test func test_render_mixedText_interpolatesStrings() throws {
        #expect(try Template.render("{{ params.name }}-{{ run.id }}.txt", in: context) == .string("alpha-run-1.txt"))
    }

    @Test func test_render_logicalTimeArithmetic_givesThePreviousDay() throws {
        #expect(try Template.render("{{ run.logical_time - 1d }}", in: context) == .string("2025-11-28T00:00:00Z"))
        #expect(try Template.render("{{ run.logical_time + 90m }}", in: context) == .string("2025-11-29T01:30:00Z"))
    }

    @Test func test_render_missingOutput_namesTaskAndOutput() {
        #expect(throws: TemplateError(message: "task 'extract' produced no output 'nope'")) {
            try Template.render("{{ tasks.extract.outputs.nope }}", in: context)
        }
    }

    @Test func test_referencedTasks_areTheTasksWhoseOutputsTheTemplatesRead_notEveryAncestor() throws {
        let spec = try SpecParser.parse(
            """
            name: p
            params: {n: {type: int, default: 1}}
            tasks:
              a: {command: [echo]}
              b: {command: [echo], needs: [a]}
              c: {command: [echo], needs: [b]}
              d:
                needs: [c]
                command: [sh, -c, "echo {{ tasks.a.outputs.x }} {{ params.n }}"]
              e:
                needs: [c]
                command: [echo]
                with: {paths: ["{{ tasks.b.outputs.y }}", {nested: "{{ tasks.c.outputs.z }}"}]}
            """, knownPrograms: [])
        #expect(spec.task(named: "d")?.referencedTasks == ["a"])
        #expect(spec.task(named: "e")?.referencedTasks == ["b", "c"])
        #expect(spec.task(named: "c")?.referencedTasks == [])
    }
}
