import FluentKit

/// The one ordered list of migrations. Only ever append.
enum MigrationList {
    static let all: [any Migration] = [
        CreateAccounts(),
        CreatePipelines(),
        CreateRuns(),
        CreateRegistries(),
        CreateModelAliases(),
        AddScheduledRuns(),
        AddTaskCache(),
        AddStorageQuotas(),
        AddStorageTiering(),
        AddRefreshTokens(),
        AddTrainingSetPointers(),
        AddObjectQuotas(),
        IndexTaskLookups(),
        AlignAttemptCounts(),
    ]
}
