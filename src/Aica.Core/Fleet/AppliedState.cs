using System.Globalization;
using System.Text;
using Aica.Config;
using Aica.IO;
using Aica.Native;
using static Aica.Native.Perms;

namespace Aica.Fleet;

/// <summary>
/// What this node last applied, kept node-locally in <see cref="Path"/>: the registry generation and a stat
/// fingerprint (inode, size, mtime, ctime) of each input of recover. Same fingerprints: nothing to do, and
/// <c>aica sync</c> stops there without reading the registry. /var/lib survives a home reset but not a full reset; after
/// a full reset the boot's recover writes it again.
/// </summary>
public sealed record AppliedState(long Generation, IReadOnlyDictionary<string, string> Prints)
{
    public const string Path = "/var/lib/aica/applied-generation";

    /// <summary>The files whose change means recover has work: the shared inputs and the account files it writes.</summary>
    public static readonly string[] Inputs = [AicaConfig.RegistryPath, AicaConfig.ConfigPath, "/etc/passwd", "/etc/group"];

    /// <summary>One file's fingerprint ("-" when absent): any write by rename or in place changes it.</summary>
    public static string Print(RootedFs fs, string path) =>
        fs.Lstat(path) is { } st ? $"{st.Ino}:{st.Size}:{st.MtimeSec}.{st.MtimeNsec:D9}:{st.CtimeSec}" : "-";

    public static Dictionary<string, string> PrintAll(RootedFs fs, IEnumerable<string> paths) =>
        paths.ToDictionary(p => p, p => Print(fs, p), StringComparer.Ordinal);

    public static AppliedState? Read(RootedFs fs)
    {
        string? text;
        try { text = fs.ReadText(Path); }
        catch (SysException) { return null; }
        if (text is null) return null;
        long? generation = null;
        var prints = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var f = line.Split(' ');
            if (f.Length == 2 && f[0] == "generation" && long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var g)) generation = g;
            else if (f.Length == 3 && f[0] == "file") prints[f[1]] = f[2];
        }
        return generation is { } gen ? new AppliedState(gen, prints) : null;
    }

    /// <summary>The inputs whose fingerprint is not the one recorded (an input with none recorded counts as changed); empty: nothing to do.</summary>
    public List<string> Changed(RootedFs fs) => [.. Inputs.Where(p => !Prints.TryGetValue(p, out var want) || want != Print(fs, p))];

    public void Write(RootedFs fs)
    {
        var sb = new StringBuilder($"generation {Generation.ToString(CultureInfo.InvariantCulture)}\n");
        foreach (var (path, print) in Prints.OrderBy(p => p.Key, StringComparer.Ordinal)) sb.Append("file ").Append(path).Append(' ').Append(print).Append('\n');
        if (fs.Lstat("/var/lib/aica") is null) fs.EnsureParents(Path); // root:root 0755, /var/lib/aica included
        fs.WriteAtomic(Path, Encoding.UTF8.GetBytes(sb.ToString()), O(644));
    }
}
