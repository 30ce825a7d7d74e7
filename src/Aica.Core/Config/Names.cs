using System.Text.RegularExpressions;

namespace Aica.Config;

/// <summary>Input validation (SPEC §6.5): every name and id is checked before anything changes.</summary>
public static partial class Names
{
    // \z, not $: .NET's $ also matches before a final newline, and "alice\n" would pass (and split a registry line).
    [GeneratedRegex(@"^[a-z_][a-z0-9_-]{0,31}\z")]
    private static partial Regex NameRegex();

    private static readonly HashSet<string> Reserved =
    [
        "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data", "backup",
        "list", "irc", "gnats", "nobody", "nogroup", "systemd-network", "systemd-resolve", "messagebus", "sshd", "sudo", "adm",
        "wheel", "shadow", "staff", "users", "disk", "tty", "kmem", "operator", "_apt",
    ];

    /// <summary>Null when valid; otherwise the one-line reason.</summary>
    public static string? ValidateUser(string? name)
    {
        if (string.IsNullOrEmpty(name)) return "user name is empty";
        if (!NameRegex().IsMatch(name)) return $"invalid user name '{Printable(name)}': use lower-case letters, digits, _ and -, starting with a letter or _, at most 32 characters";
        if (Reserved.Contains(name)) return $"'{name}' is a system account name";
        return null;
    }

    public static string? ValidateGroup(string? name)
    {
        if (string.IsNullOrEmpty(name)) return "group name is empty";
        if (!NameRegex().IsMatch(name)) return $"invalid group name '{Printable(name)}'";
        if (Reserved.Contains(name)) return $"'{name}' is a system group name";
        return null;
    }

    public const int MinUid = 1000, MaxUid = 60000;

    public static string? ValidateId(long id, string what) =>
        id is < MinUid or > MaxUid ? $"{what} {id} out of range {MinUid}–{MaxUid}" : null;

    public static readonly string[] Shells = ["/bin/bash", "/usr/bin/bash", "/bin/zsh", "/usr/bin/zsh", "/bin/sh", "/usr/bin/fish", "/bin/dash", "/usr/sbin/nologin"];

    public static string? ValidateShell(string shell) =>
        Shells.Contains(shell) ? null : $"unsupported shell '{Printable(shell)}' (one of {string.Join(", ", Shells)})";

    public static string? ValidateLayout(string layout) =>
        layout is "symlink" or "hybrid" ? null : $"unknown layout '{Printable(layout)}' (symlink or hybrid)";

    /// <summary>A normalised absolute path under /data, without . or .. components.</summary>
    public static bool IsCleanDataPath(string p) => IsCleanAbsolute(p) && (p == "/data" || p.StartsWith("/data/"));

    public static bool IsCleanAbsolute(string p) =>
        p.StartsWith('/') && !p.Contains("//") && (p.Length == 1 || !p.EndsWith('/')) &&
        p.Split('/').Skip(1).All(s => s.Length > 0 && s != "." && s != "..") && !p.Any(char.IsControl);

    public static string Printable(string s) => string.Concat(s.Select(c => char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString()));
}
