using System.Text.RegularExpressions;
using Aica.Engine;
using Aica.Site;

namespace Aica.Integration;

/// <summary>
/// The one table of files the bash era (AICADataKeeper) left that aica retires: adopt removes them (dry run: lists
/// them), doctor's <c>legacy.bash-era</c> reports the ones still there, both through the same <see cref="AbsentItem"/>s.
/// </summary>
public static partial class RetiredFiles
{
    /// <summary>The old script names that have a compatibility wrapper in shims/ (embedded).</summary>
    public static readonly string[] WrappedScripts =
    [
        "ops-recovery.sh", "ops-setup-global.sh", "user-setup.sh", "user-register.sh", "user-fix-permissions.sh",
        "ops-clean-cache.sh", "ops-disk-alert.sh", "system-permissions.sh", "system-sudoers.sh",
    ];

    public const string LegacySudoers = "/etc/sudoers.d/aica-datakeeper";
    public const string LegacyProfile = "/etc/profile.d/global_envs.sh";
    public const string RecoveryMarker = "/tmp/recovery-complete";

    /// <summary>The folders the bash scripts lived in (their commands are what the old sudoers rules allowed).</summary>
    public static readonly string[] LegacyScriptDirs = ["/data/scripts", "/data/system/scripts", "/data/AICADataKeeper/scripts"];

    private const string Fix = "aica adopt --dry-run, then aica adopt (backs up and replaces them)";

    /// <summary>The retired files, in doctor's order; <paramref name="backupDir"/> receives the backed-up ones.</summary>
    public static IReadOnlyList<AbsentItem> Items(string backupDir) =>
    [
        new(LegacySudoers, Removal.BackupFirst, "legacy.bash-era", $"the bash-era rules (old script paths); {Templates.SudoersPath} replaces it (validated with visudo)")
            { BackupDir = backupDir, Fix = Fix, Refuse = HandEdited },
        new(LegacyProfile, Removal.BackupFirst, "legacy.bash-era", $"the bash-era loader; {Templates.ProfilePath} replaces it")
            { BackupDir = backupDir, Fix = Fix },
        new(RecoveryMarker, Removal.Remove, "legacy.bash-era", $"the bash-era 'recovery done' marker; aica's status is {AicaServices.StatusPath}")
            { Only = Kinds.File, Fix = Fix },
    ];

    /// <summary>
    /// The drop-in system-sudoers.sh wrote holds only command aliases for the old scripts or df/du and one rule for the
    /// group. Any other line was added by hand: the file stays in place and is reported (nothing is lost).
    /// </summary>
    private static string? HandEdited(EngineContext ctx)
    {
        var text = ctx.Fs.ReadText(LegacySudoers);
        if (text is null) return null;
        var foreign = new List<string>();
        foreach (var raw in text.Replace("\\\n", " ").Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            if (SudoersGroupRule().IsMatch(line)) continue;
            var alias = SudoersAlias().Match(line);
            if (alias.Success && alias.Groups[1].Value.Split(',').Select(c => c.Trim().Split(' ')[0]).All(IsBashEraCommand)) continue;
            foreign.Add(line);
        }
        return foreign.Count == 0 ? null
            : $"{LegacySudoers} was edited by hand ({string.Join(" | ", foreign)}): left in place. Move the rules you still want into a file "
              + $"of your own under /etc/sudoers.d/, delete {LegacySudoers}, and rerun aica adopt ({Templates.SudoersPath} now grants the member commands)";
    }

    /// <summary>The group the old sudoers rule named, or null.</summary>
    public static string? SudoersGroup(string sudoersText) => SudoersGroupRule().Match(sudoersText) is { Success: true } m ? m.Groups[1].Value : null;

    [GeneratedRegex(@"^%([a-z_][a-z0-9_-]{0,31})\s+ALL\s*=\s*\(ALL(?::ALL)?\)\s*NOPASSWD:\s*([A-Z_][A-Z0-9_]*(?:\s*,\s*[A-Z_][A-Z0-9_]*)*)\s*$", RegexOptions.Multiline)]
    private static partial Regex SudoersGroupRule();

    [GeneratedRegex(@"^Cmnd_Alias\s+[A-Z_][A-Z0-9_]*\s*=\s*(.+)$")]
    private static partial Regex SudoersAlias();

    private static bool IsBashEraCommand(string cmd) =>
        cmd is "/usr/bin/df" or "/bin/df" or "/usr/bin/du" or "/bin/du"
        || LegacyScriptDirs.Any(d => cmd.StartsWith(d + "/") && cmd.EndsWith(".sh"));
}
