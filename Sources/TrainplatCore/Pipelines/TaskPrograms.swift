/// The built-in task programs (`uses:` names) of the Python data plane's registry
/// (`python/src/trainplat/tasks/registry.py`). A test keeps the two lists equal.
public enum TaskPrograms {
    public static let builtIn: Set<String> = [
        "doris.extract",
        "doris.test_connection",
        "datasets.training_set",
        "feast.training_set",
        "feast.materialize",
        "learning.train",
        "learning.evaluate",
        "learning.incremental_update",
        "learning.evaluate_windows",
        "models.promote",
        "storage.move_tier",
    ]
}
