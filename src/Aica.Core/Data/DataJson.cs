using System.Text.Json;

namespace Aica.Data;

/// <summary>The --json shapes of perms and data (README documents them); shared by the commands and data report.</summary>
public static class DataJson
{
    public static void Perms(Utf8JsonWriter j, string command, PermsReport r)
    {
        j.WriteStartObject();
        j.WriteString("command", command);
        j.WriteBoolean("dry_run", r.DryRun);
        PermsCounts(j, r);
        j.WriteStartArray("trees");
        foreach (var t in r.Trees)
        {
            j.WriteStartObject();
            j.WriteString("path", t.Root);
            j.WriteNumber("scanned", t.Scanned);
            j.WriteNumber(r.DryRun ? "to_change" : "changed", t.Changed);
            j.WriteNumber("skipped_links", t.SkippedLinks);
            j.WriteNumber("special", t.Special);
            j.WriteNumber("kept", t.Kept);
            j.WriteNumber("errors", t.Errors);
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteStartArray("events");
        foreach (var t in r.Trees)
            foreach (var (kind, path, detail) in t.Events)
            {
                j.WriteStartObject();
                j.WriteString("kind", EventName(kind));
                j.WriteString("path", path);
                j.WriteString("detail", detail);
                j.WriteEndObject();
            }
        j.WriteEndArray();
        j.WriteEndObject();
    }

    public static void PermsCounts(Utf8JsonWriter j, PermsReport r)
    {
        j.WriteNumber("scanned", r.Scanned);
        j.WriteNumber(r.DryRun ? "to_change" : "changed", r.Changed);
        j.WriteNumber("skipped_links", r.SkippedLinks);
        j.WriteNumber("special", r.Special);
        j.WriteNumber("kept", r.Kept);
        j.WriteNumber("errors", r.Errors);
    }

    public static string EventName(NormaliseEvent e) => e switch
    {
        NormaliseEvent.Changed => "changed", NormaliseEvent.Planned => "planned", NormaliseEvent.KeptHardLink => "kept_hard_link",
        NormaliseEvent.KeptSetId => "kept_set_id", NormaliseEvent.Special => "special", NormaliseEvent.OtherFs => "other_fs",
        NormaliseEvent.Raced => "raced", _ => "error",
    };

    /// <summary>SPEC §9: <c>{"count": N, "datasets": [{"name", "size_bytes", "size_human", ...}]}</c>.</summary>
    public static void Datasets(Utf8JsonWriter j, IReadOnlyList<DatasetInfo> list)
    {
        j.WriteStartObject();
        j.WriteNumber("count", list.Count);
        j.WriteStartArray("datasets");
        foreach (var d in list)
        {
            j.WriteStartObject();
            j.WriteString("name", d.Name);
            j.WriteString("path", d.Path);
            j.WriteNumber("size_bytes", d.SizeBytes);
            j.WriteString("size_human", d.SizeHuman);
            j.WriteNumber("files", d.Files);
            j.WriteNumber("dirs", d.Dirs);
            j.WriteString("owner", d.Owner);
            j.WriteString("group", d.Group);
            j.WriteString("mode", TreeNormaliser.Octal(d.Mode));
            j.WriteBoolean("members_can_read", d.MembersCanRead);
            j.WriteNumber("unreadable", d.Unreadable);
            if (d.FirstUnreadable is null) j.WriteNull("first_unreadable"); else j.WriteString("first_unreadable", d.FirstUnreadable);
            j.WriteNumber("errors", d.Errors);
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteEndObject();
    }

    public static void Orphans(Utf8JsonWriter j, OrphanReport r)
    {
        j.WriteStartObject();
        j.WriteNumber("count", r.Orphans.Count);
        j.WriteBoolean("dry_run", r.DryRun);
        if (r.BackupPath is null) j.WriteNull("backup"); else j.WriteString("backup", r.BackupPath);
        j.WriteStartArray("orphans");
        foreach (var o in r.Orphans)
        {
            var m = r.Moves.FirstOrDefault(x => ReferenceEquals(x.Orphan, o));
            j.WriteStartObject();
            j.WriteString("name", o.Name);
            j.WriteString("path", $"{OrphanService.UsersDir}/{o.Name}");
            j.WriteNumber("uid", o.Uid);
            j.WriteNumber("size_bytes", o.SizeBytes);
            j.WriteString("size_human", Human.Bytes(o.SizeBytes));
            j.WriteNumber("files", o.Files);
            j.WriteString("status", m is null ? "found" : r.DryRun ? "planned" : m.Moved ? "moved" : "kept");
            if (m is not null) j.WriteString("method", m.Method);
            if (m?.Error is { } err) j.WriteString("error", err);
            if (m is { Notes.Count: > 0 })
            {
                j.WriteStartArray("notes");
                foreach (var n in m.Notes) j.WriteStringValue(n);
                j.WriteEndArray();
            }
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteEndObject();
    }

    public static void Mirrors(Utf8JsonWriter j, IReadOnlyList<MirrorResult> list, bool dryRun)
    {
        j.WriteStartObject();
        j.WriteBoolean("dry_run", dryRun);
        j.WriteStartArray("mirrors");
        foreach (var m in list)
        {
            j.WriteStartObject();
            j.WriteString("legacy", m.Pair.Legacy);
            j.WriteString("source", m.Pair.Source);
            j.WriteString("state", MirrorStateName(m.State));
            j.WriteNumber("pending", m.Pending);
            j.WriteNumber("extra", m.Extra);
            if (m.RunAs is null) j.WriteNull("run_as"); else j.WriteString("run_as", m.RunAs);
            j.WriteString("summary", m.Summary);
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteEndObject();
    }

    public static string MirrorStateName(MirrorState s) => s switch
    {
        MirrorState.InStep => "in_step", MirrorState.Drift => "drift", MirrorState.Synced => "synced", MirrorState.Linked => "linked",
        MirrorState.AlreadyLinked => "already_linked", MirrorState.Missing => "missing", MirrorState.Refused => "refused", _ => "failed",
    };

    public static void Access(Utf8JsonWriter j, IReadOnlyList<AccessResult> list)
    {
        j.WriteStartObject();
        j.WriteNumber("checked", list.Count);
        j.WriteNumber("failed", list.Count(a => !a.Ok));
        j.WriteStartArray("results");
        foreach (var a in list)
        {
            j.WriteStartObject();
            j.WriteString("user", a.User);
            j.WriteString("dataset", a.Dataset);
            j.WriteBoolean("ok", a.Ok);
            if (a.Blocking is null) j.WriteNull("blocking"); else j.WriteString("blocking", a.Blocking);
            j.WriteStartArray("unreadable");
            foreach (var u in a.Unreadable) j.WriteStringValue(u);
            j.WriteEndArray();
            if (a.Error is null) j.WriteNull("error"); else j.WriteString("error", a.Error);
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteEndObject();
    }
}
