using System.Text.RegularExpressions;
using Aica.Cli;
using Aica.Tests.Infra;

namespace Aica.Tests.Manual;

/// <summary>The documentation holds together: every SPEC § the code cites exists, every link resolves, every command is documented.</summary>
[Trait("level", "unit")]
public sealed partial class DocsSpecs
{
    private static string Repo(string path) => Path.Combine(Tools.RepoRoot, path);

    /// <summary>"6" → the heading "## 6. ..."; "6.1" → the numbered item "1." inside that heading's section.</summary>
    public static bool Resolves(string design, string section)
    {
        var parts = section.Split('.');
        var lines = design.Split('\n');
        var start = Array.FindIndex(lines, l => l.StartsWith($"## {parts[0]}. ", StringComparison.Ordinal));
        if (start < 0) return false;
        if (parts.Length == 1) return true;
        for (var i = start + 1; i < lines.Length && !lines[i].StartsWith("#", StringComparison.Ordinal); i++)
            if (lines[i].StartsWith($"{parts[1]}. ", StringComparison.Ordinal)) return true;
        return false;
    }

    [Fact]
    public void Every_SPEC_section_cited_in_the_code_resolves_in_docs_design()
    {
        var design = File.ReadAllText(Repo("docs/design.md"));
        var cited = new SortedSet<string>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Repo("src"), "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/") && !f.Contains("/bin/")))
        {
            var text = File.ReadAllText(file);
            foreach (Match m in Citation().Matches(text))
            {
                // "§6.1–2" cites 6.1 and 6.2; "§2–§3" and "§6.1, §6.4" are matched one by one.
                var sections = new List<string> { m.Groups[1].Value };
                if (m.Groups[2].Success)
                    sections.Add(m.Groups[1].Value.Contains('.') ? m.Groups[1].Value[..(m.Groups[1].Value.IndexOf('.') + 1)] + m.Groups[2].Value : m.Groups[2].Value);
                foreach (var s in sections)
                {
                    cited.Add(s);
                    if (!Resolves(design, s)) missing.Add($"{Path.GetRelativePath(Tools.RepoRoot, file)}: §{s}");
                }
            }
        }
        Assert.True(cited.Count >= 15, $"only {cited.Count} sections cited: the pattern no longer finds them");
        Assert.True(missing.Count == 0, "cited but not in docs/design.md:\n" + string.Join("\n", missing));
    }

    [Fact]
    public void The_resolver_rejects_a_section_that_does_not_exist()
    {
        var design = File.ReadAllText(Repo("docs/design.md"));
        Assert.True(Resolves(design, "6.10"));
        Assert.True(Resolves(design, "12"));
        Assert.False(Resolves(design, "6.11"));
        Assert.False(Resolves(design, "99"));
    }

    /// <summary>Docs written on other branches at the same time; checked once they exist.</summary>
    private static readonly string[] Parallel = ["docs/monitoring.md", "docs/scheduling.md", "docs/json.md", "docs/fleet.md"];

    [Fact]
    public void Every_relative_link_in_the_readme_and_docs_resolves()
    {
        var files = Directory.EnumerateFiles(Repo("docs"), "*.md").Append(Repo("README.md"));
        var broken = new List<string>();
        foreach (var file in files)
            foreach (Match m in Link().Matches(File.ReadAllText(file)))
            {
                var target = m.Groups[1].Value;
                if (target.Contains("://") || target.StartsWith('#') || target.StartsWith("mailto:", StringComparison.Ordinal)) continue;
                var path = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, target.Split('#')[0]));
                var rel = Path.GetRelativePath(Tools.RepoRoot, path);
                if (!File.Exists(path) && !Directory.Exists(path) && !Parallel.Contains(rel))
                    broken.Add($"{Path.GetRelativePath(Tools.RepoRoot, file)}: {target}");
            }
        Assert.True(broken.Count == 0, "broken links:\n" + string.Join("\n", broken));
    }

    [Fact]
    public void The_command_reference_names_every_command_and_the_readme_stays_short()
    {
        var reference = File.ReadAllText(Repo("docs/commands.md"));
        Assert.All(AicaApp.Table, c => Assert.Contains($"aica {c.Name}", reference));
        var readme = File.ReadAllText(Repo("README.md"));
        Assert.True(readme.Split('\n').Length < 150, "the README is read in five minutes: details belong in docs/");
        Assert.Contains("make demo", readme);
        Assert.Contains("make test", readme);
        Assert.Contains(".NET 10 SDK", readme);
    }

    [GeneratedRegex(@"§(\d+(?:\.\d+)?)(?:[–-](\d+(?:\.\d+)?)(?![.\d]))?")] private static partial Regex Citation();
    [GeneratedRegex(@"\]\(([^)\s]+)\)")] private static partial Regex Link();
}
