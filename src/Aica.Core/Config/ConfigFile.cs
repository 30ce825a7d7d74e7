using System.Text;
using System.Text.Json.Serialization;
using Tomlyn;
using Tomlyn.Parsing;
using Tomlyn.Serialization;
using Tomlyn.Syntax;

namespace Aica.Config;

/// <summary>One problem in aica.toml, with its 1-based line (0: the file as a whole).</summary>
public sealed record ConfigIssue(int Line, string Message)
{
    public override string ToString() => Line > 0 ? $"line {Line}: {Message}" : Message;
}

/// <summary>What reading aica.toml gave: the config to use and every problem found (each bad key replaced, never fatal here).</summary>
public sealed record ConfigLoad(AicaConfig Config, IReadOnlyList<ConfigIssue> Issues)
{
    public bool Valid => Issues.Count == 0;
}

/// <summary>A bad aica.toml for the strict readers (every command but recover and doctor): the first problem, all of them in the message.</summary>
public sealed class ConfigError(IReadOnlyList<ConfigIssue> issues)
    : Exception(string.Join("; ", issues.Select(i => i.ToString())))
{
    public IReadOnlyList<ConfigIssue> Issues { get; } = issues;
    public int Line => Issues.Count > 0 ? Issues[0].Line : 0;
}

/// <summary>
/// aica.toml through Tomlyn (TOML 1.1): the lossless syntax tree gives every key its line, so an unknown key or a bad
/// value is reported where the admin wrote it and only that key falls back (to the last good value or the default);
/// the values that pass are read into the source-generated <see cref="AicaTomlFile"/> model (no reflection).
/// </summary>
public static partial class ConfigFile
{
    /// <summary>The TOML type a key takes.</summary>
    private enum Kind { String, Integer, Boolean, Strings, Number }

    /// <summary>One key: its TOML type, how to check a value, and how it lands in <see cref="AicaConfig"/>.</summary>
    private sealed record Key(string Name, Kind Kind, Func<AicaTomlFile, object?> Read, Func<AicaConfig, object?, AicaConfig> Set,
        Func<AicaConfig, object?> Get, Func<object, string?> Check);

    private static Key K<T>(string name, Kind kind, Func<AicaTomlFile, T?> read, Func<AicaConfig, T, AicaConfig> set, Func<AicaConfig, T> get,
        Func<T, string?>? check = null) =>
        new(name, kind, f => read(f), (c, v) => set(c, (T)v!), c => get(c), v => check?.Invoke((T)v));

    private static string? DataPath(string key, string p) => Names.IsCleanDataPath(p) ? null : $"{key} must be a normalised absolute path under /data, not '{Names.Printable(p)}'";

    private static string? AbsolutePaths(string key, string[] ps) =>
        ps.FirstOrDefault(p => !Names.IsCleanAbsolute(p)) is { } bad ? $"{key}: '{Names.Printable(bad)}' is not a normalised absolute path" : null;

    /// <summary>Every key aica reads (SPEC §3–§4), in the order of the file init writes.</summary>
    private static readonly Key[] Keys =
    [
        K<string>("group.name", Kind.String, f => f.Group?.Name, (c, v) => c with { Group = v }, c => c.Group, Names.ValidateGroup),
        K<long?>("group.gid", Kind.Integer, f => f.Group?.Gid, (c, v) => c with { Gid = (int?)v }, c => c.Gid,
            v => v is < 1 or > 60000 ? $"group.gid {v} out of range 1–60000" : null),
        K<string>("users.default_layout", Kind.String, f => f.Users?.DefaultLayout, (c, v) => c with { DefaultLayout = v }, c => c.DefaultLayout,
            v => Names.ValidateLayout(v) is null ? null : "users.default_layout must be symlink or hybrid"),
        K<string>("users.shell", Kind.String, f => f.Users?.Shell, (c, v) => c with { DefaultShell = v }, c => c.DefaultShell, Names.ValidateShell),
        K<string[]>("users.dotfiles", Kind.Strings, f => f.Users?.Dotfiles, (c, v) => c with { Dotfiles = v }, c => c.Dotfiles,
            v => v.FirstOrDefault(d => d.Contains('/') || !d.StartsWith('.') || d is "." or ".." || d.Any(char.IsControl)) is { } bad ? $"bad dotfile name '{Names.Printable(bad)}'" : null),
        K<string>("paths.install", Kind.String, f => f.Paths?.Install, (c, v) => c with { InstallPath = v }, c => c.InstallPath, v => DataPath("paths.install", v)),
        K<string>("paths.conda_root", Kind.String, f => f.Paths?.CondaRoot, (c, v) => c with { CondaRoot = v }, c => c.CondaRoot, v => DataPath("paths.conda_root", v)),
        K<string>("paths.backups", Kind.String, f => f.Paths?.Backups, (c, v) => c with { BackupDir = v }, c => c.BackupDir, v => DataPath("paths.backups", v)),
        K<string>("caches.conda_pkgs", Kind.String, f => f.Caches?.CondaPkgs, (c, v) => c with { CondaPkgs = v }, c => c.CondaPkgs, v => DataPath("caches.conda_pkgs", v)),
        K<string>("caches.torch", Kind.String, f => f.Caches?.Torch, (c, v) => c with { TorchHome = v }, c => c.TorchHome, v => DataPath("caches.torch", v)),
        K<string>("caches.hf_hub", Kind.String, f => f.Caches?.HfHub, (c, v) => c with { HfHub = v }, c => c.HfHub, v => DataPath("caches.hf_hub", v)),
        K<string>("caches.hf_datasets", Kind.String, f => f.Caches?.HfDatasets, (c, v) => c with { HfDatasets = v }, c => c.HfDatasets, v => DataPath("caches.hf_datasets", v)),
        K<string>("caches.comfyui", Kind.String, f => f.Caches?.Comfyui, (c, v) => c with { ComfyUi = v }, c => c.ComfyUi, v => DataPath("caches.comfyui", v)),
        K<string>("caches.flux", Kind.String, f => f.Caches?.Flux, (c, v) => c with { Flux = v }, c => c.Flux, v => DataPath("caches.flux", v)),
        K<string[]>("disk.watch", Kind.Strings, f => f.Disk?.Watch, (c, v) => c with { DiskWatch = v }, c => c.DiskWatch, v => AbsolutePaths("disk.watch", v)),
        // A number: "threshold = 85.0" is valid TOML and means 85; a fraction is not a whole percentage.
        K<double?>("disk.threshold", Kind.Number, f => f.Disk?.Threshold, (c, v) => c with { DiskThreshold = (int)v!.Value }, c => (double)c.DiskThreshold,
            v => v is not { } t || t != Math.Floor(t) || t < 1 || t > 99 ? $"disk.threshold must be a whole percentage 1–99, not {v}" : null),
        K<string>("data.datasets", Kind.String, f => f.Data?.Datasets, (c, v) => c with { Datasets = v }, c => c.Datasets, v => DataPath("data.datasets", v)),
        K<string>("data.code", Kind.String, f => f.Data?.Code, (c, v) => c with { Code = v }, c => c.Code, v => DataPath("data.code", v)),
        K<string>("data.dataset_owner", Kind.String, f => f.Data?.DatasetOwner, (c, v) => c with { DatasetOwner = v }, c => c.DatasetOwner,
            v => v == "root" || Names.ValidateUser(v) is null || (uint.TryParse(v, out var id) && id < 4294967295) ? null : $"data.dataset_owner must be a user name or uid, not '{Names.Printable(v)}'"),
        K<string[]>("data.legacy_mirrors", Kind.Strings, f => f.Data?.LegacyMirrors, (c, v) => c with { LegacyMirrors = v }, c => c.LegacyMirrors, v => AbsolutePaths("data.legacy_mirrors", v)),
        K<bool?>("data.mirror_delete", Kind.Boolean, f => f.Data?.MirrorDelete, (c, v) => c with { MirrorDelete = v ?? false }, c => c.MirrorDelete),
        K<long?>("fleet.sync_interval", Kind.Integer, f => f.Fleet?.SyncInterval, (c, v) => c with { SyncIntervalSeconds = (int)v!.Value }, c => c.SyncIntervalSeconds,
            v => v is < 30 or > 86400 ? $"fleet.sync_interval must be 30–86400 seconds, not {v}" : null),
    ];

    private static readonly Dictionary<string, Key> ByName = Keys.ToDictionary(k => k.Name, StringComparer.Ordinal);
    private static readonly HashSet<string> Tables = [.. Keys.Select(k => k.Name[..k.Name.IndexOf('.')])];

    /// <summary>Every key aica knows, dotted (for messages and tests).</summary>
    public static IReadOnlyList<string> KeyNames { get; } = [.. Keys.Select(k => k.Name)];

    /// <summary>
    /// Reads <paramref name="text"/>. A key with a syntax error, the wrong type or a bad value is reported with its line
    /// and takes its value from <paramref name="fallback"/> (the last config that validated; the defaults when null);
    /// unknown keys are reported and ignored. Never throws for bad input.
    /// </summary>
    /// <param name="fallbackLabel">When set, each bad key's message says which value is used instead ("the last good value").</param>
    public static ConfigLoad Read(string text, AicaConfig? fallback = null, string? fallbackLabel = null)
    {
        fallback ??= new AicaConfig();
        var issues = new List<ConfigIssue>();
        if (text.StartsWith('\uFEFF')) text = text[1..]; // a byte-order mark from a Windows editor
        DocumentSyntax doc;
        try { doc = SyntaxParser.Parse(text, "aica.toml", true); }
        catch (Exception e) when (e is TomlException or InvalidOperationException or ArgumentException)
        {
            return new ConfigLoad(fallback, [new ConfigIssue(0, $"cannot parse: {e.Message}")]);
        }
        var entries = Entries(doc, issues);
        // The parser's errors, one per line (its first says most), named by the key written there.
        var errorLines = new HashSet<int>();
        var textLines = text.Split('\n');
        foreach (var d in doc.Diagnostics)
        {
            var line = d.Span.Start.Line + 1;
            if (d.Kind != DiagnosticMessageKind.Error) continue;
            // After a bad value the parser may also stumble on the next, empty line: that echo says nothing new.
            var blank = line <= textLines.Length && textLines[line - 1].Trim() is "" or ['#', ..];
            if ((blank && errorLines.Count > 0) || !errorLines.Add(line)) continue;
            var at = entries.FirstOrDefault(e => line >= e.Line && line <= e.LastLine).Name;
            issues.Add(new ConfigIssue(line, at is null ? d.Message : $"{at}: {d.Message}"));
        }
        var clean = new StringBuilder();
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var group in entries.GroupBy(e => e.Name[..e.Name.IndexOf('.')]))
        {
            clean.Append('[').Append(group.Key).Append("]\n");
            foreach (var (name, value, line, lastLine) in group)
            {
                if (value is null || Enumerable.Range(line, lastLine - line + 1).Any(errorLines.Contains)) continue; // already reported by the parser
                var key = ByName[name];
                if (TypeError(key, value) is { } te) { issues.Add(new ConfigIssue(line, te)); continue; }
                if (!lines.TryAdd(name, line)) { issues.Add(new ConfigIssue(line, $"{name} is defined twice (first on line {lines[name]})")); continue; }
                clean.Append(name[(name.IndexOf('.') + 1)..]).Append(" = ").Append(ValueText(value)).Append('\n');
            }
        }

        AicaTomlFile? file;
        try { file = TomlSerializer.Deserialize(clean.ToString(), AicaTomlContext.Default.AicaTomlFile); }
        catch (TomlException e)
        {
            // Every value passed its type check above, so this is a defect or a TOML corner not foreseen: use the fallback whole.
            issues.Add(new ConfigIssue(0, $"cannot read the values: {e.Message}"));
            return new ConfigLoad(fallback, issues);
        }
        file ??= new AicaTomlFile();

        var config = new AicaConfig();
        // A key whose lines carry a problem (syntax, type, duplicate) is bad: it takes the fallback's value.
        var bad = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < issues.Count; i++)
            foreach (var (name, _, line, last) in entries)
                if (issues[i].Line >= line && issues[i].Line <= last) bad.TryAdd(name, i);
        foreach (var key in Keys)
        {
            if (!bad.ContainsKey(key.Name) && key.Read(file) is { } v)
            {
                if (key.Check(v) is not { } err) { config = key.Set(config, v); continue; }
                issues.Add(new ConfigIssue(lines.GetValueOrDefault(key.Name), err));
                bad[key.Name] = issues.Count - 1;
            }
            if (!bad.TryGetValue(key.Name, out var at)) continue;
            config = key.Set(config, key.Get(fallback));
            if (fallbackLabel is not null)
                issues[at] = issues[at] with { Message = $"{issues[at].Message} (using {key.Name} = {Literal(key.Get(fallback))}, {fallbackLabel})" };
        }
        issues.Sort((a, b) => a.Line.CompareTo(b.Line));
        return new ConfigLoad(config, issues);
    }

    /// <summary>Strict read: the config, or <see cref="ConfigError"/> naming every problem with its line.</summary>
    public static AicaConfig Parse(string text)
    {
        var load = Read(text);
        return load.Valid ? load.Config : throw new ConfigError(load.Issues);
    }

    /// <summary>The value as it would be used when a key is bad, for messages.</summary>
    public static string Show(AicaConfig c, string key) => ByName.TryGetValue(key, out var k) ? Literal(k.Get(c)) : "?";

    /// <summary>Known keys with their value syntax and lines; unknown ones reported on the way.</summary>
    private static List<(string Name, ValueSyntax? Value, int Line, int LastLine)> Entries(DocumentSyntax doc, List<ConfigIssue> issues)
    {
        var result = new List<(string, ValueSyntax?, int, int)>();
        void Visit(string prefix, KeyValueSyntax kv)
        {
            if (kv.Key is null) return; // a broken line: the parser reported it
            var line = kv.Span.Start.Line + 1;
            var name = prefix.Length == 0 ? KeyText(kv.Key) : $"{prefix}.{KeyText(kv.Key)}";
            if (kv.Value is null)
            {
                // No value could be read (the parser reported why): kept only to name the key in that report.
                if (ByName.ContainsKey(name)) result.Add((name, null, line, kv.Span.End.Line + 1));
                return;
            }
            if (kv.Value is InlineTableSyntax inline && Tables.Contains(name))
            {
                foreach (var item in inline.Items)
                    if (item.KeyValue is { } inner) Visit(name, inner);
                return;
            }
            if (ByName.ContainsKey(name)) result.Add((name, kv.Value, line, kv.Span.End.Line + 1));
            else if (Tables.Contains(name)) issues.Add(new ConfigIssue(line, $"{name} must be a table ([{name}])"));
            else issues.Add(new ConfigIssue(line, $"unknown key '{name}'"));
        }
        foreach (var kv in doc.KeyValues) Visit("", kv);
        foreach (var table in doc.Tables)
        {
            var line = table.Span.Start.Line + 1;
            var name = table.Name is null ? "" : KeyText(table.Name);
            if (table is TableArraySyntax) { issues.Add(new ConfigIssue(line, $"[[{name}]]: arrays of tables are not used in aica.toml")); continue; }
            if (!Tables.Contains(name))
            {
                issues.Add(new ConfigIssue(line, $"unknown table [{name}]"));
                continue;
            }
            foreach (var kv in table.Items) Visit(name, kv);
        }
        return result;
    }

    /// <summary>A key as TOML means it: quotes removed, dotted parts joined ("a"."b" and a.b are the same key).</summary>
    private static string KeyText(KeySyntax key)
    {
        var parts = new List<string> { Part(key.Key) };
        foreach (var dot in key.DotKeys) parts.Add(Part(dot.Key));
        return string.Join('.', parts);
        static string Part(BareKeyOrStringValueSyntax? p) => p switch
        {
            BareKeySyntax b => b.Key?.Text ?? "",
            StringValueSyntax s => s.Value ?? "",
            _ => p?.ToString()?.Trim() ?? "",
        };
    }

    private static string? TypeError(Key key, ValueSyntax v)
    {
        var ok = key.Kind switch
        {
            Kind.String => v is StringValueSyntax,
            Kind.Integer => v is IntegerValueSyntax,
            Kind.Boolean => v is BooleanValueSyntax,
            Kind.Number => v is IntegerValueSyntax or FloatValueSyntax,
            Kind.Strings => v is ArraySyntax a && a.Items.All(i => i.Value is StringValueSyntax),
            _ => false,
        };
        if (ok) return null;
        var want = key.Kind switch
        {
            Kind.String => "a string", Kind.Integer => "an integer", Kind.Boolean => "true or false", Kind.Number => "a number", _ => "an array of strings",
        };
        return $"{key.Name} must be {want}, not {Describe(v)}";
    }

    private static string Describe(ValueSyntax v) => v switch
    {
        StringValueSyntax => "a string", IntegerValueSyntax => "an integer", FloatValueSyntax => "a float", BooleanValueSyntax => "a boolean",
        ArraySyntax => "an array (of other values)", InlineTableSyntax => "a table", DateTimeValueSyntax => "a date", _ => "that value",
    };

    /// <summary>The value's own text, without the comment after it (a clean line for the serializer).</summary>
    private static string ValueText(ValueSyntax v)
    {
        var sb = new StringWriter();
        v.WriteTo(sb);
        var text = sb.ToString();
        // The trailing trivia (spaces, a comment) belongs to the source line; the value ends before it.
        if (v.TrailingTrivia is { Count: > 0 } trailing)
        {
            var len = trailing.Sum(t => t.ToString()?.Length ?? 0);
            if (len <= text.Length) text = text[..^len];
        }
        return text.Trim();
    }

    /// <summary>A value as TOML writes it (quoted strings, arrays of them).</summary>
    internal static string Literal(object? v) => v switch
    {
        null => "(none)",
        string s => Quote(s),
        string[] a => "[" + string.Join(", ", a.Select(Quote)) + "]",
        bool b => b ? "true" : "false",
        double d => d.ToString(System.Globalization.CultureInfo.InvariantCulture),
        int or long => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)!,
        _ => v.ToString() ?? "",
    };

    /// <summary>A TOML basic string (Tomlyn escapes it).</summary>
    public static string Quote(string s) => new StringValueSyntax(s).ToString()!.Trim();
}
