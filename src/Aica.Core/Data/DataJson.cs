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
}
