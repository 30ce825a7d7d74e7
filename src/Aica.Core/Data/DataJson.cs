using Aica.Contracts;

namespace Aica.Data;

/// <summary>The --json documents of perms and data (docs/json.md), built from the reports; shared by the commands and data report.</summary>
public static class DataJson
{
    public static PermsDoc Perms(string command, PermsReport r) => new(command, r.DryRun, r.Scanned,
        r.DryRun ? r.Changed : null, r.DryRun ? null : r.Changed, r.SkippedLinks, r.Special, r.Kept, r.Errors,
        [.. r.Trees.Select(t => new PermsTreeRow(t.Root, t.Scanned, r.DryRun ? t.Changed : null, r.DryRun ? null : t.Changed,
            t.SkippedLinks, t.Special, t.Kept, t.Errors))],
        [.. r.Trees.SelectMany(t => t.Events).Select(e => new PermsEventRow(EventName(e.Kind), e.Path, e.Detail))]);

    public static string EventName(NormaliseEvent e) => e switch
    {
        NormaliseEvent.Changed => "changed", NormaliseEvent.Planned => "planned", NormaliseEvent.KeptHardLink => "kept_hard_link",
        NormaliseEvent.KeptSetId => "kept_set_id", NormaliseEvent.Special => "special", NormaliseEvent.OtherFs => "other_fs",
        NormaliseEvent.Raced => "raced", _ => "error",
    };

    /// <summary>SPEC §9: <c>{"count": N, "datasets": [{"name", "size_bytes", "size_human", ...}]}</c>.</summary>
    public static DatasetsDoc Datasets(IReadOnlyList<DatasetInfo> list) => new(list.Count,
        [.. list.Select(d => new DatasetRow(d.Name, d.Path, d.SizeBytes, d.SizeHuman, d.Files, d.Dirs, d.Owner, d.Group,
            TreeNormaliser.Octal(d.Mode), d.MembersCanRead, d.Unreadable, d.FirstUnreadable, d.Errors))]);

    public static OrphansDoc Orphans(OrphanReport r) => new(r.Orphans.Count, r.DryRun, r.BackupPath,
        [.. r.Orphans.Select(o =>
        {
            var m = r.Moves.FirstOrDefault(x => ReferenceEquals(x.Orphan, o));
            return new OrphanRow(o.Name, $"{OrphanService.UsersDir}/{o.Name}", o.Uid, o.SizeBytes, Human.Bytes(o.SizeBytes), o.Files,
                m is null ? "found" : r.DryRun ? "planned" : m.Moved ? "moved" : "kept",
                m?.Method, m?.Error, m is { Notes.Count: > 0 } ? [.. m.Notes] : null);
        })]);

    public static MirrorsDoc Mirrors(IReadOnlyList<MirrorResult> list, bool dryRun) => new(dryRun,
        [.. list.Select(m => new MirrorRow(m.Pair.Legacy, m.Pair.Source, MirrorStateName(m.State), m.Pending, m.Extra, m.RunAs, m.Summary))]);

    public static string MirrorStateName(MirrorState s) => s switch
    {
        MirrorState.InStep => "in_step", MirrorState.Drift => "drift", MirrorState.Synced => "synced", MirrorState.Linked => "linked",
        MirrorState.AlreadyLinked => "already_linked", MirrorState.Missing => "missing", MirrorState.Refused => "refused", _ => "failed",
    };

    public static AccessDoc Access(IReadOnlyList<AccessResult> list) => new(list.Count, list.Count(a => !a.Ok),
        [.. list.Select(a => new AccessRow(a.User, a.Dataset, a.Ok, a.Blocking, [.. a.Unreadable], a.Error))]);
}
