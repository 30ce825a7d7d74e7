using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aica.Tests.Infra;

namespace Aica.Tests.Contracts;

/// <summary>One small server for every snapshot: initialised, one user, a dataset, an orphan; every command runs read-only or -n.</summary>
public sealed class SnapshotServer : IDisposable
{
    public Sandbox Sandbox { get; }

    public SnapshotServer()
    {
        Sandbox = new Sandbox();
        if (!Tools.IsRoot) return;
        Sandbox.Init();
        Sandbox.AddUser("alice", 3001);
        var r = Sandbox.Aica("recover");
        if (r.ExitCode != 0) throw new InvalidOperationException($"recover failed: {r}");
        Tools.Sh($"mkdir -p '{Sandbox.P("/data/dataset/imagenet/train")}' && printf 'abc' > '{Sandbox.P("/data/dataset/imagenet/train/a.jpg")}'" +
                 $" && mkdir -p '{Sandbox.P("/data/users/ghost")}' && printf 'x' > '{Sandbox.P("/data/users/ghost/f")}' && chown -R 4242:4242 '{Sandbox.P("/data/users/ghost")}'" +
                 $" && mkdir -p '{Sandbox.P("/data/users/alice/.cache/pip")}' && printf 'wheel' > '{Sandbox.P("/data/users/alice/.cache/pip/w")}'");
        // an image root for init --image, and a uv release archive for install uv
        var uv = Sandbox.P("/uv/uv-x86_64-unknown-linux-gnu");
        foreach (var d in new[] { Sandbox.P("/image/etc"), Sandbox.P("/image/usr"), uv }) Directory.CreateDirectory(d);
        File.WriteAllText($"{uv}/uv", "#!/bin/sh\necho 'uv 0.6.0 (x86_64-unknown-linux-gnu)'\n");
        File.WriteAllText($"{uv}/uvx", "#!/bin/sh\nexit 0\n");
        Tools.Sh($"chmod 755 '{uv}/uv' '{uv}/uvx' && cd '{Sandbox.P("/uv")}' && tar -czf '{Sandbox.P("/uv.tar.gz")}' uv-x86_64-unknown-linux-gnu");
    }

    public void Dispose() => Sandbox.Dispose();
}

/// <summary>
/// The shape of every --json document, pinned: each command's output, normalised (times, sizes, durations, the
/// temporary root, the host), is compared with Snapshots/NAME.json. docs/json.md shows the same documents.
/// A deliberate change of a shape: run with AICA_UPDATE_SNAPSHOTS=1, review the diff of Snapshots/, update docs/json.md.
/// </summary>
[Trait("level", "blackbox")]
public sealed class JsonSnapshotSpecs(SnapshotServer server) : IClassFixture<SnapshotServer>
{
    /// <summary>Snapshot name and the command line (after --json --root ROOT).</summary>
    public static TheoryData<string, string> Cases() => new()
    {
        { "init", "init --dry-run" },
        { "init-image", "init --image {root}/image" },
        { "recover", "recover --dry-run" },
        { "doctor", "doctor" },
        { "user-add", "user add bob --uid 3002 --dry-run" },
        { "user-remove", "user remove alice --dry-run" },
        { "user-list", "user list" },
        { "user-fix", "user fix alice --dry-run" },
        { "user-migrate", "user migrate alice --to hybrid --dry-run" },
        { "perms", "perms --dry-run" },
        { "data-list", "data list" },
        { "data-fix", "data fix --dry-run" },
        { "data-orphans", "data orphans --remove --dry-run" },
        { "data-mirror", "data mirror --dry-run" },
        { "data-verify", "data verify" },
        { "data-report", "data report --no-verify" },
        { "clean", "clean --pip --dry-run" },
        { "disk", "disk --dry-run" },
        { "du", "du" },
        { "install", "install uv --from {root}/uv.tar.gz --dry-run" },
        { "install-failed", "install uv --from {root}/uv.tar.gz --sha256 0000000000000000000000000000000000000000000000000000000000000000" },
        { "adopt", "adopt --dry-run" },
        { "env", "env" },
        { "config-check", "config check" },
        { "accounts-capture", "accounts capture --dry-run" },
        { "error", "user fix nobody-here" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_json_document_of_each_command_matches_its_snapshot(string name, string command)
    {
        Require.Root();
        var root = server.Sandbox.Root;
        var r = server.Sandbox.Aica(["--json", .. command.Replace("{root}", root).Split(' ')]);
        JsonNode? doc;
        try { doc = JsonNode.Parse(r.StdOut); }
        catch (JsonException e) { throw new Xunit.Sdk.XunitException($"not one JSON document ({e.Message}):\n{r}"); }
        var actual = Snapshot.Normalise(doc!, root).ToJsonString(Snapshot.Options) + "\n";
        Snapshot.Match(name, actual, $"aica --json {command}\n{r.StdErr}");
    }

    [Fact]
    public void The_json_files_aica_writes_match_their_snapshots()
    {
        Require.Root();
        var sb = server.Sandbox;
        var report = sb.Aica("--json", "data", "report", "--no-verify");
        var reportFile = JsonNode.Parse(report.StdOut)!["json"]!.GetValue<string>();
        foreach (var (name, path) in new[] { ("file-recovery-status", "/run/aica/recovery.json"), ("file-data-report", reportFile) })
        {
            var doc = JsonNode.Parse(File.ReadAllText(sb.P(path)))!;
            Snapshot.Match(name, Snapshot.Normalise(doc, sb.Root).ToJsonString(Snapshot.Options) + "\n", path);
        }
    }
}

/// <summary>Normalising and comparing snapshot documents (shared with the docs check).</summary>
public static class Snapshot
{
    public static readonly JsonSerializerOptions Options = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Dir => Path.Combine(Tools.RepoRoot, "tests", "Aica.Tests", "Contracts", "Snapshots");

    public static void Match(string name, string actual, string context)
    {
        var path = Path.Combine(Dir, name + ".json");
        if (Environment.GetEnvironmentVariable("AICA_UPDATE_SNAPSHOTS") == "1")
        {
            Directory.CreateDirectory(Dir);
            File.WriteAllText(path, actual);
            return;
        }
        var expected = File.Exists(path) ? File.ReadAllText(path) : "(no snapshot yet)";
        if (expected != actual)
            throw new Xunit.Sdk.XunitException(
                $"the --json shape of '{name}' changed ({context.Trim()}).\n" +
                $"If the change is deliberate: AICA_UPDATE_SNAPSHOTS=1 make test-quick (or this test alone), review `git diff {Path.GetRelativePath(Tools.RepoRoot, path)}`, and update docs/json.md.\n" +
                $"--- expected\n{expected}\n--- actual\n{actual}");
    }

    private static readonly Regex Hash = new(@"\b[0-9a-f]{64}\b", RegexOptions.Compiled);
    private static readonly Regex Stamp = new(@"(?<!\d)\d{4}-?\d{2}-?\d{2}[T_ -]?\d{2}:?\d{2}:?\d{2}([.,]\d+)?([+-]\d{2}:?\d{2}|Z)?", RegexOptions.Compiled);
    private static readonly Regex Size = new(@"\b\d+(\.\d+)? ?(B|KiB|MiB|GiB|TiB|PiB)\b", RegexOptions.Compiled);
    private static readonly Regex Percent = new(@"\b\d+(\.\d+)?%", RegexOptions.Compiled);
    private static readonly Regex Millis = new(@"\b\d+(\.\d+)? ?ms\b", RegexOptions.Compiled);

    /// <summary>
    /// Values that differ from run to run become placeholders: times, byte counts and sizes, percentages, durations,
    /// the temporary root and the host. An array keeps its first element of each distinct set of keys (the shapes it
    /// holds) and at most two plain values, so a snapshot pins the shape, not how many checks or rows there are.
    /// </summary>
    public static JsonNode Normalise(JsonNode node, string root)
    {
        switch (node)
        {
            case JsonObject o:
                var copy = new JsonObject();
                foreach (var (k, v) in o) copy[k] = v is null ? null : Value(k, Normalise(v, root));
                return copy;
            case JsonArray a:
                var kept = new JsonArray();
                var shapes = new HashSet<string>();
                var plain = 0;
                foreach (var item in a)
                {
                    if (item is JsonObject io)
                    {
                        if (!shapes.Add(string.Join(",", io.Select(p => p.Key + ":" + (p.Value?.GetValueKind().ToString() ?? "null"))))) continue;
                    }
                    else if (++plain > 2) continue;
                    kept.Add(item is null ? null : Normalise(item, root));
                }
                return kept;
            default:
                var value = (JsonValue)node;
                if (value.GetValueKind() != JsonValueKind.String) return value.DeepClone();
                var s = value.GetValue<string>().Replace(root, "<root>");
                s = Hash.Replace(s, "<sha256>");
                s = Stamp.Replace(s, "<time>");
                s = Size.Replace(s, "<size>");
                s = Percent.Replace(s, "<pct>%");
                s = Millis.Replace(s, "<ms>");
                return JsonValue.Create(s);
        }
    }

    /// <summary>Volatile values by name: durations, byte counts, percentages, times and the host.</summary>
    private static JsonNode Value(string key, JsonNode v)
    {
        var kind = v.GetValueKind();
        if (kind == JsonValueKind.Number && (key.EndsWith("_ms") || key.Contains("bytes") || key.Contains("percent") || key.EndsWith("_pct")
                                             || key == "size_on_disk" || key == "pending" || key == "extra"))
            return JsonValue.Create(0);
        if (kind == JsonValueKind.String && key is "host" or "size_human" or "sha256" or "time" or "last_accessed" or "last_modified")
            return JsonValue.Create($"<{key}>");
        return v;
    }
}
