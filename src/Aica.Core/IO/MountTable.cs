namespace Aica.IO;

/// <summary>One line of /proc/self/mountinfo: where it is mounted, its type, source and both option lists.</summary>
public sealed record MountEntry(string MountPoint, string FsType, string Source, IReadOnlyList<string> MountOptions, IReadOnlyList<string> SuperOptions)
{
    /// <summary>An option's value from either list (super options win: NFS puts vers=, sec=, local_lock= there); "" for a bare flag; null when absent.</summary>
    public string? Option(string name)
    {
        foreach (var list in new[] { SuperOptions, MountOptions })
            foreach (var o in list)
            {
                if (o == name) return "";
                if (o.Length > name.Length && o[name.Length] == '=' && o.StartsWith(name, StringComparison.Ordinal)) return o[(name.Length + 1)..];
            }
        return null;
    }

    public bool IsNfs => FsType is "nfs" or "nfs4";

    /// <summary>The NFS protocol major version: nfs4 mounts, or vers=4.x; nfs with vers=3 (or none given) is 3.</summary>
    public int NfsMajor => FsType == "nfs4" || (Option("vers") ?? Option("nfsvers") ?? "3").StartsWith('4') ? 4 : 3;
}

/// <summary>
/// The kernel's mount table (<c>/proc/self/mountinfo</c>, or a fixture with the same format): which mount holds a path.
/// Octal escapes (\040 for a space) are decoded.
/// </summary>
public sealed class MountTable(IReadOnlyList<MountEntry> entries)
{
    public const string ProcPath = "/proc/self/mountinfo";

    public IReadOnlyList<MountEntry> Entries { get; } = entries;

    public static MountTable Parse(string text)
    {
        var list = new List<MountEntry>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // id parent major:minor root mountpoint options [optional fields...] - fstype source superoptions
            var f = line.Split(' ');
            var dash = Array.IndexOf(f, "-", 6);
            if (f.Length < 7 || dash < 0 || dash + 2 >= f.Length) continue;
            list.Add(new MountEntry(Unescape(f[4]), f[dash + 1], Unescape(f[dash + 2]), f[5].Split(','),
                dash + 3 < f.Length ? f[dash + 3].Split(',') : []));
        }
        return new MountTable(list);
    }

    /// <summary>The host's table; empty when it cannot be read (no /proc).</summary>
    public static MountTable Read(string path = ProcPath)
    {
        try { return Parse(File.ReadAllText(path)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return new MountTable([]); }
    }

    /// <summary>The mount a host path is on: the longest mount point that contains it, the last one mounted when stacked.</summary>
    public MountEntry? Containing(string hostPath)
    {
        MountEntry? best = null;
        foreach (var e in Entries)
        {
            var mp = e.MountPoint;
            var inside = mp == "/" || hostPath == mp || hostPath.StartsWith(mp + "/", StringComparison.Ordinal);
            if (inside && (best is null || mp.Length >= best.MountPoint.Length)) best = e;
        }
        return best;
    }

    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new System.Text.StringBuilder();
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && IsOctal(s, i + 1))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    private static bool IsOctal(string s, int at) =>
        at + 3 <= s.Length && s[at] is >= '0' and <= '7' && s[at + 1] is >= '0' and <= '7' && s[at + 2] is >= '0' and <= '7';
}
