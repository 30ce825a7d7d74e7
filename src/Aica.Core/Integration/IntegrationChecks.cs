using Aica.Config;
using Aica.Engine;
using Aica.Services;
using Aica.Site;
using static Aica.Native.Perms;

namespace Aica.Integration;

/// <summary>Doctor checks of this feature: the shared tools aica installs, and bash-era leftovers that adopt takes over.</summary>
public static class IntegrationChecks
{
    /// <param name="registry">The registry doctor already read; null: read it here.</param>
    public static IEnumerable<CheckResult> Run(AicaServices s, AicaConfig c, Registry? registry = null)
    {
        yield return Tool(s, "apps.conda", c.CondaRoot, "bin/conda", "miniconda", optional: false);
        if (s.Fs.Lstat("/data/apps/uv") is not null || s.Fs.Lstat("/data/apps/.uv.aica-partial") is not null)
            yield return Tool(s, "apps.uv", "/data/apps/uv", "uv", "uv", optional: true);
        yield return Legacy(s, c, registry);
    }

    private static CheckResult Tool(AicaServices s, string id, string prefix, string program, string tool, bool optional)
    {
        var name = prefix[(prefix.LastIndexOf('/') + 1)..];
        var marker = $"{prefix[..prefix.LastIndexOf('/')]}/.{name}.aica-partial";
        if (s.Fs.Lstat(marker) is not null)
            return new CheckResult(id, CheckStatus.Fail, $"an install of {tool} at {prefix} was interrupted", Fix: $"aica install {tool} --from FILE (redoes it)");
        var st = s.Fs.Lstat(prefix);
        if (st is null)
            return new CheckResult(id, optional ? CheckStatus.Pass : CheckStatus.Warn, $"{tool} is not installed at {prefix}",
                Fix: optional ? null : $"aica install {tool} --from FILE");
        if (!st.Value.IsDir) return new CheckResult(id, CheckStatus.Fail, $"{prefix} is not a directory", Fix: $"move it away, then aica install {tool} --from FILE");
        if (!st.Value.OnlyRootWrites)
            return new CheckResult(id, CheckStatus.Fail, $"{prefix} is writable by others than root ({Convert.ToString(st.Value.Perm, 8)}, uid {st.Value.Uid}): a member could change what everyone runs",
                Fix: $"aica install {tool} --from FILE (reinstalls root-owned), or chown -R root:root and chmod -R go-w {prefix}");
        var bin = s.Fs.Lstat($"{prefix}/{program}");
        if (bin is not { IsFile: true } || (bin.Value.Perm & O(111)) == 0)
            return new CheckResult(id, CheckStatus.Fail, $"{prefix}/{program} is missing or not executable (a broken or partial install)", Fix: $"aica install {tool} --from FILE");
        var version = s.Fs.ReadText($"{prefix}/{InstallService.RecordName}")?.Split('\n').FirstOrDefault(l => l.StartsWith("version="))?[8..];
        return new CheckResult(id, CheckStatus.Pass, $"{tool} at {prefix}{(version is null ? "" : $" ({version})")}, root-owned");
    }

    /// <summary>The retired files of <see cref="RetiredFiles"/>, checked by their own items (what adopt removes), and two-field registry lines.</summary>
    private static CheckResult Legacy(AicaServices s, AicaConfig c, Registry? registry)
    {
        var items = RetiredFiles.Items($"{c.BackupDir}/adopt");
        var state = new DesiredState([new Unit(Phase.Etc, "bash era", null, items)], []);
        var found = new StateEngine(s.Context(c)).Check(state)
            .Where(r => r.Status != CheckStatus.Pass && r.Fix != StateEngine.NeedsRootFix) // a member's doctor cannot look in /etc/sudoers.d
            .Select(r => r.Id[(r.Id.IndexOf(':') + 1)..]).ToList();
        var legacyLines = (registry ?? s.Registry.Load()).Users.Count(u => u.IsLegacy);
        if (legacyLines > 0) found.Add($"{legacyLines} two-field lines in users.txt");
        return found.Count == 0
            ? new CheckResult("legacy.bash-era", CheckStatus.Pass, "no files of the bash scripts left")
            : new CheckResult("legacy.bash-era", CheckStatus.Warn, $"bash-era state remains: {string.Join(", ", found)}",
                Fix: "aica adopt --dry-run, then aica adopt (backs up and replaces them)");
    }
}
