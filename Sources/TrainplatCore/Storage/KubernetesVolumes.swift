import Foundation

/// Renders placed mounts as Kubernetes Pod `volumes` and container `volumeMounts`, the way a
/// Kubernetes executor would submit them. Confinement carries over: pvc mounts use the
/// owner's `subPath`, nfs volumes mount the owner's directory of the export itself.
public enum KubernetesVolumes {
    /// The CSI driver that serves s3 mounts (Mountpoint for Amazon S3; MinIO speaks its protocol).
    public static let s3Driver = "s3.csi.aws.com"
    /// 0400: mounted configmap and secret files are readable by the task's user only.
    static let ownerReadOnlyMode = 0o400

    public static func volumes(_ mounts: [PlacedMount]) -> [JSONValue] {
        mounts.map { mount in
            var volume: JSONObject = ["name": .string(volumeName(mount.spec))]
            let (key, source) = self.source(mount)
            volume[key] = .object(source)
            return .object(volume)
        }
    }

    public static func volumeMounts(_ mounts: [PlacedMount]) -> [JSONValue] {
        mounts.map { mount in
            var fields: JSONObject = [
                "name": .string(volumeName(mount.spec)), "mountPath": .string(mount.spec.mountPath), "readOnly": .bool(mount.readOnly),
            ]
            if mount.spec.type == .pvc { fields["subPath"] = .string(mount.subPath) }
            return .object(fields)
        }
    }

    /// A whole Pod running `command` with the mounts; what `trainplat mount render` prints.
    public static func pod(name: String, image: String, command: [String], mounts: [PlacedMount]) -> JSONValue {
        let container: JSONObject = [
            "name": .string("task"), "image": .string(image), "command": .array(command.map(JSONValue.string)),
            "volumeMounts": .array(volumeMounts(mounts)),
        ]
        return .object([
            "apiVersion": .string("v1"), "kind": .string("Pod"), "metadata": .object(["name": .string(name)]),
            "spec": .object(["restartPolicy": .string("Never"), "containers": .array([.object(container)]), "volumes": .array(volumes(mounts))]),
        ])
    }

    private static func source(_ mount: PlacedMount) -> (String, JSONObject) {
        let spec = mount.spec
        switch spec.type {
        case .pvc:
            return ("persistentVolumeClaim", ["claimName": .string(mount.root), "readOnly": .bool(mount.readOnly)])
        case .hostpath:
            return ("hostPath", ["path": .string(mount.root), "type": .string("Directory")])
        case .configmap:
            return ("configMap", ["name": .string(mount.root), "defaultMode": .int(ownerReadOnlyMode)])
        case .secret:
            return ("secret", ["secretName": .string(mount.root), "defaultMode": .int(ownerReadOnlyMode)])
        case .memory:
            return ("emptyDir", ["medium": .string("Memory"), "sizeLimit": .string(String(spec.sizeLimitBytes ?? 0))])
        case .nfs:
            let (server, export) = mount.root.splitOnce(":")
            return ("nfs", ["server": .string(server), "path": .string("\(export)/\(mount.subPath)"), "readOnly": .bool(mount.readOnly)])
        case .s3:
            return ("csi", [
                "driver": .string(s3Driver), "readOnly": .bool(mount.readOnly),
                "volumeAttributes": .object(["bucketName": .string(mount.root), "prefix": .string(mount.subPath + "/")]),
            ])
        }
    }

    /// `MODELS` -> `mount-models`: a DNS label, unique because mount names are.
    static func volumeName(_ spec: MountSpec) -> String {
        "mount-" + spec.name.lowercased().replacingOccurrences(of: "_", with: "-")
    }
}
