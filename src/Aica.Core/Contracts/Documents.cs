using System.Text.Json.Serialization;

namespace Aica.Contracts;

// The --json documents, one record per shape, properties in the order they are written (snake_case on the wire).
// A property marked WhenWritingNull is absent rather than null (its presence itself says something: an error).

/// <summary>One desired-state action of init, recover, user add and adopt; <c>error</c> only when it failed.</summary>
public sealed record ActionRow(string Id, string Subject, string Action, string Was, string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error);

public sealed record InitDoc(string Command, string Group, int? Gid, bool DryRun, bool ConfigChanged,
    IReadOnlyList<ActionRow> Actions, IReadOnlyList<string> Problems, IReadOnlyList<string> Notes);

public sealed record InitImageDoc(string Command, string Image, IReadOnlyList<ActionRow> Actions);

public sealed record RecoverDoc(string Command, string Status, bool DryRun, int Users, int Failed, double DurationMs,
    IReadOnlyList<ActionRow> Actions, IReadOnlyList<string> Problems, IReadOnlyList<string> Notes);

/// <summary>/run/aica/recovery.json, written by recover and read by doctor.</summary>
public sealed record RecoveryStatusDoc(string Status, string Time, int Users, int Recovered, int Failed, int Changes, double DurationMs,
    IReadOnlyList<string> Problems);

public sealed record DoctorCheckRow(string Id, string Status, string Summary, string? Details, string? Fix, double DurationMs);

public sealed record StatusCounts(int Pass, int Warn, int Fail);

public sealed record DoctorDoc(string Version, string Host, IReadOnlyList<DoctorCheckRow> Checks, StatusCounts Summary);

public sealed record UserAddDoc(string Command, string User, int Uid, int Gid, string? Shell, string? Layout, string Account, bool DryRun,
    bool RegistryChanged, IReadOnlyList<ActionRow> Actions, IReadOnlyList<string> Problems, IReadOnlyList<string> Notes);

public sealed record UserRemoveDoc(string Command, string User, int? Uid, bool DryRun, IReadOnlyList<string> Steps, string? Backup);

public sealed record UserListRow(string Name, int? Uid, int? Gid, string? Shell, string? Layout, string Status, string Detail);

public sealed record UserListDoc(int Count, IReadOnlyList<UserListRow> Users);

public sealed record UserFixDoc(string Command, string User, string Path, bool DryRun, long Scanned, long Changed, long OwnerFixed, long GroupFixed,
    long ModeFixed, IReadOnlyList<string> Skipped, IReadOnlyList<string> Tampered, IReadOnlyList<string> Errors, double DurationMs);

public sealed record UserMigrateDoc(string Command, string User, string From, string To, bool Rollback, bool DryRun, string? Journal,
    IReadOnlyList<string> Steps, IReadOnlyList<string> Problems, IReadOnlyList<string> Warnings);

/// <summary>
/// The counts of perms and data fix. The changed count is named <c>to_change</c> in a dry run and <c>changed</c>
/// otherwise (kept from the first release: scripts read it by name), so exactly one of the two is present.
/// </summary>
public sealed record PermsTreeRow(string Path, long Scanned,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? ToChange,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Changed,
    long SkippedLinks, long Special, long Kept, long Errors);

public sealed record PermsEventRow(string Kind, string Path, string Detail);

public sealed record PermsDoc(string Command, bool DryRun, long Scanned,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? ToChange,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Changed,
    long SkippedLinks, long Special, long Kept, long Errors, IReadOnlyList<PermsTreeRow> Trees, IReadOnlyList<PermsEventRow> Events);

public sealed record DatasetRow(string Name, string Path, long SizeBytes, string SizeHuman, long Files, long Dirs, string Owner, string Group,
    string Mode, bool MembersCanRead, long Unreadable, string? FirstUnreadable, long Errors);

public sealed record DatasetsDoc(int Count, IReadOnlyList<DatasetRow> Datasets);

/// <summary>An orphaned user directory; <c>method</c>, <c>error</c> and <c>notes</c> only when a move was tried.</summary>
public sealed record OrphanRow(string Name, string Path, uint Uid, long SizeBytes, string SizeHuman, long Files, string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Method,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Notes);

public sealed record OrphansDoc(int Count, bool DryRun, string? Backup, IReadOnlyList<OrphanRow> Orphans);

public sealed record MirrorRow(string Legacy, string Source, string State, long Pending, long Extra, string? RunAs, string Summary);

public sealed record MirrorsDoc(bool DryRun, IReadOnlyList<MirrorRow> Mirrors);

public sealed record AccessRow(string User, string Dataset, bool Ok, string? Blocking, IReadOnlyList<string> Unreadable, string? Error);

public sealed record AccessDoc(int Checked, int Failed, IReadOnlyList<AccessRow> Results);

/// <summary>What <c>data report --json</c> prints: where the report went and its counts.</summary>
public sealed record DataReportDoc(string Text, string Json, int Datasets, long FixesNeeded, int Orphans, int MirrorDrift, int AccessFailures, int Problems);

/// <summary>The report file data_sync_report_TS.json: every data document in one.</summary>
public sealed record DataReportFileDoc(string Time, string Host, DatasetsDoc Datasets, PermsDoc Fixes, OrphansDoc Orphans, MirrorsDoc Mirrors,
    AccessDoc Access, int Problems);

public sealed record CleanRemovedRow(string Path, long Bytes, long Files, string Reason);

public sealed record HfRevisionRow(string Commit, IReadOnlyList<string> Refs, int Files, bool Detached);

public sealed record HfRepoRow(string Type, string Id, long SizeOnDisk, int Blobs, string LastAccessed, string LastModified,
    IReadOnlyDictionary<string, string> Refs, IReadOnlyList<HfRevisionRow> Revisions, bool Locked, bool RemoveRepo, long BytesFreed);

/// <summary>One cache target; <c>error</c> only when it failed, <c>repos</c> only for the HuggingFace hub.</summary>
public sealed record CleanTargetRow(string Target, string? User, string Path, string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error,
    long BytesFreed, long BusySkipped, IReadOnlyList<CleanRemovedRow> Removed, IReadOnlyList<string> Problems, IReadOnlyList<string> Links,
    IReadOnlyList<string> Skipped, IReadOnlyList<string> Notes,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<HfRepoRow>? Repos);

public sealed record CleanDoc(string Command, bool DryRun, int? OlderThanDays, IReadOnlyList<CleanTargetRow> Targets, long TotalBytesFreed, int Failed);

public sealed record MountRow(string Path, string Status, int? Percent, long SizeBytes, long UsedBytes, long AvailableBytes, string? Message);

public sealed record DiskDoc(string Command, int Threshold, bool DryRun, IReadOnlyList<MountRow> Mounts, IReadOnlyList<string> Alerts,
    IReadOnlyList<string> Problems);

public sealed record DuEntryRow(string Name, string Kind, string? Path, long ApparentBytes, long DiskBytes, long Files);

public sealed record DuTotal(long ApparentBytes, long DiskBytes, long Files);

public sealed record DuDoc(string Command, string? Path, bool ByUser, IReadOnlyList<DuEntryRow> Rows, int Omitted, DuTotal Total, IReadOnlyList<string> Problems);

public sealed record DuSnapshotRow(string Name, string Kind, long ApparentBytes, long DiskBytes, long Files);

/// <summary>/data/admin/du-last.json: the last <c>aica du</c> overview, which <c>aica metrics</c> reports.</summary>
public sealed record DuSnapshotDoc(string Time, long DiskBytes, IReadOnlyList<DuSnapshotRow> Rows);

public sealed record InstallDoc(string Command, string Prefix, string From, string Sha256, bool DryRun, string Status, string? Version, string? Previous,
    IReadOnlyList<string> Steps, string? Error);

public sealed record AdoptChangeRow(string Action, string Path, string Detail);

public sealed record AdoptDoc(string Command, bool DryRun, string Group, int? Gid, string? BackupDir, string? Report, IReadOnlyList<AdoptChangeRow> Changes,
    IReadOnlyList<ActionRow> Actions, IReadOnlyList<string> Warnings, IReadOnlyList<string> Problems);

public sealed record EnvUser(string Name, int Uid, int Gid, string Group, bool Member, bool Registered, string Layout);

public sealed record EnvPaths(string Home, string HomeKind, string? HomeTarget, string Data, bool DataExists, string CondaRoot, bool CondaInstalled,
    string? CondaVersion, string CondaEnvs, bool CondaEnvsPersistent);

public sealed record EnvCacheRow(string Id, string Variable, string Expected, string? Value, bool Set, bool Exists, bool Writable);

public sealed record EnvShell(string? Umask, bool UmaskOk, bool VariablesSet, bool PathHasConda);

public sealed record EnvDiskRow(long DataBytes, long DataFiles, int UnreadableDirs, long FsSizeBytes, long FsUsedBytes, double ShareOfUsedPct,
    double ShareOfSizePct, int RegisteredUsers);

public sealed record EnvDoc(EnvUser User, EnvPaths Paths, IReadOnlyList<EnvCacheRow> Caches, IReadOnlyDictionary<string, string> UserCaches,
    EnvShell Shell, EnvDiskRow? Disk, IReadOnlyList<string> Hints);

public sealed record ConfigProblemRow(int Line, string Message);

public sealed record ConfigCheckDoc(string Command, string File, bool Exists, bool Valid, IReadOnlyList<ConfigProblemRow> Problems);

public sealed record AccountsCaptureDoc(string Command, bool DryRun, bool Written, int Users, int Groups, IReadOnlyList<string> Changes, string? ReplacedRefused);

/// <summary>One Prometheus sample (aica metrics --json); a value that is not a finite number is null.</summary>
public sealed record MetricSampleRow(string Name, IReadOnlyDictionary<string, string> Labels, double? Value);

public sealed record MetricsDoc(string Command, IReadOnlyList<MetricSampleRow> Metrics);

public sealed record MetricsTextfileDoc(string Command, string Textfile, long Bytes);

public sealed record NotifyChannelRow(string Channel, string Status, string Message);

public sealed record NotifyDoc(string Command, string Message, IReadOnlyList<NotifyChannelRow> Channels);

/// <summary>aica manpage / aica completion with --json: the generated text in one document (format: roff, bash or zsh).</summary>
public sealed record GeneratedTextDoc(string Command, string Format, string Text);

public sealed record SyncDoc(string Command, bool Recovered, bool DryRun, string Status, long? Generation, string Reason, double DurationMs);

public sealed record FleetRecoveryRow(string Time, string Status, double DurationMs);

public sealed record FleetDoctorRow(int Pass, int Warn, int Fail);

public sealed record FleetConflictRow(string User, string Kind, long Registered, string Detail);

/// <summary>One node of aica fleet status --json; what its status file says is null when the file could not be read.</summary>
public sealed record FleetNodeRow(string Host, string File, bool Ok, bool Readable, bool Stale, bool OtherGeneration, bool VersionSkew, double? AgeS,
    string? Version, long? GenerationApplied, string? WrittenAt, FleetRecoveryRow? LastRecovery, FleetDoctorRow? Doctor,
    IReadOnlyList<FleetConflictRow>? IdConflicts, int? Gpus, IReadOnlyList<string> Problems);

public sealed record FleetStatusDoc(long RegistryGeneration, string Version, string Time, IReadOnlyList<FleetNodeRow> Nodes);

/// <summary>aica health --json (Slurm HealthCheckProgram / NHC mode).</summary>
public sealed record HealthDoc(bool Healthy, string Line, string Node, string Action, int UserProblems);

/// <summary>
/// /data/admin/nodes/HOST.json: what one node last did, written by it (atomically) after recover, sync and doctor, read
/// by <c>aica fleet status</c> and by doctor on the other nodes. Snake_case keys; <see cref="Schema"/> says which shape.
/// </summary>
public sealed record NodeStatus
{
    /// <summary>The shape of this file; a reader ignores (reports) files of another schema rather than guess.</summary>
    public const int CurrentSchema = 1;

    public int Schema { get; init; } = CurrentSchema;
    public string Host { get; init; } = "";
    public string Version { get; init; } = "";
    /// <summary>When the node wrote this, by its own clock (UTC).</summary>
    public DateTimeOffset WrittenAt { get; init; }
    /// <summary>The registry generation the node applied without a failure last; null before its first good run.</summary>
    public long? GenerationApplied { get; init; }
    /// <summary>The registry generation the node saw at its last recover (applied or not).</summary>
    public long? GenerationSeen { get; init; }
    /// <summary>The node's sync interval (fleet.sync_interval, seconds): a node is stale after three of them.</summary>
    public int SyncIntervalS { get; init; }
    public RecoveryOutcome? LastRecovery { get; init; }
    public DoctorSummary? Doctor { get; init; }
    /// <summary>Registered users whose ids this node cannot give them (capped list).</summary>
    public List<IdConflict> IdConflicts { get; init; } = [];
    public List<string> Gpus { get; init; } = [];
}

public sealed record RecoveryOutcome(DateTimeOffset Time, string Status, double DurationMs, int Users, int Failed);

public sealed record DoctorSummary(DateTimeOffset Time, int Pass, int Warn, int Fail);

/// <param name="Kind">uid | gid | group</param>
/// <param name="Registered">The id the registry records.</param>
/// <param name="Actual">The id the node has for that name, or the id's holder's id (null: no account of that name).</param>
/// <param name="Detail">One line: what is in the way.</param>
public sealed record IdConflict(string User, string Kind, int Registered, int? Actual, string Detail);
