import Metrics
import Prometheus

/// The process-wide Prometheus registry. `MetricsSystem.bootstrap` may run once per process,
/// while tests build many apps: the lazy global makes the bootstrap happen exactly once.
enum MetricsRegistry {
    static let shared: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}
