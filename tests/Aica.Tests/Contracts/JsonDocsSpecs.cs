using System.Text.RegularExpressions;
using Aica.Tests.Infra;

namespace Aica.Tests.Contracts;

/// <summary>docs/json.md shows every snapshot, exactly: its examples cannot drift from what aica prints.</summary>
[Trait("level", "unit")]
public sealed class JsonDocsSpecs
{
    private static readonly Regex Block = new(@"<!-- snapshot: (?<name>[a-z0-9-]+) -->\n```json\n(?<body>.*?)```", RegexOptions.Singleline);

    [Fact]
    public void Docs_json_md_shows_every_snapshot_as_it_is()
    {
        var path = Path.Combine(Tools.RepoRoot, "docs", "json.md");
        var doc = File.ReadAllText(path);
        var snapshots = Directory.GetFiles(Snapshot.Dir, "*.json").ToDictionary(f => Path.GetFileNameWithoutExtension(f), File.ReadAllText);
        if (Environment.GetEnvironmentVariable("AICA_UPDATE_SNAPSHOTS") == "1")
        {
            doc = Block.Replace(doc, m => snapshots.TryGetValue(m.Groups["name"].Value, out var body)
                ? $"<!-- snapshot: {m.Groups["name"].Value} -->\n```json\n{body}```" : m.Value);
            File.WriteAllText(path, doc);
        }
        var shown = Block.Matches(doc).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["body"].Value);
        var missing = snapshots.Keys.Except(shown.Keys).Order().ToList();
        Assert.True(missing.Count == 0, $"docs/json.md has no <!-- snapshot: NAME --> block for: {string.Join(", ", missing)}");
        var unknown = shown.Keys.Except(snapshots.Keys).Order().ToList();
        Assert.True(unknown.Count == 0, $"docs/json.md shows snapshots that do not exist: {string.Join(", ", unknown)}");
        var stale = shown.Where(kv => kv.Value != snapshots[kv.Key]).Select(kv => kv.Key).Order().ToList();
        Assert.True(stale.Count == 0, $"docs/json.md differs from the snapshots of: {string.Join(", ", stale)} (AICA_UPDATE_SNAPSHOTS=1 rewrites its examples)");
    }
}
