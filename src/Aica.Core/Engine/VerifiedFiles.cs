using System.Globalization;
using System.Text;
using Aica.IO;
using Aica.Native;
using static Aica.Native.Perms;

namespace Aica.Engine;

/// <summary>
/// Files (and directories) a check has read and found current, by identity: device, inode, size and change time (seconds and
/// nanoseconds), with a key of the content the check wanted. A later run that finds the same identity and wants the
/// same content skips the open and read: one lstat per rc file instead of five system calls (recover and doctor check
/// thousands). The change time moves on every write, truncate, chmod, chown and rename into place, and no member can
/// set it, so a file edited since is always read again. Kept in root's <c>/run/aica</c> (a tmpfs: a boot starts empty)
/// and trusted only when root owns it and nobody else can read or write it; anything else is ignored, never an error.
/// </summary>
public sealed class VerifiedFiles
{
    public const string Path = "/run/aica/verified";

    /// <summary>Nothing verified and nothing recorded: every check reads (user add, init, a member's doctor).</summary>
    public static VerifiedFiles None => new(false);

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly bool _enabled;
    private bool _readOnly;
    private bool _dirty;

    private readonly record struct Entry(ulong Dev, ulong Ino, long Size, long CtimeSec, long CtimeNsec, ulong Key);

    private VerifiedFiles(bool enabled) => _enabled = enabled;

    /// <summary>Checks may skip reads and record what they read (recover, and doctor run as root).</summary>
    public bool Enabled => _enabled;

    /// <summary>The stored record, when root's alone; empty (but recording) otherwise.</summary>
    public static VerifiedFiles Load(RootedFs fs)
    {
        var v = new VerifiedFiles(true);
        byte[]? bytes;
        FileStat st;
        try { bytes = fs.ReadFile(Path, out st); }
        catch (Exception e) when (e is SysException or IOException or ArgumentException) { return v; }
        if (bytes is null || st.Uid != 0 || (st.Perm & O(77)) != 0) return v;
        // dev ino size ctime-sec ctime-nsec key path (the path last: it may hold spaces); parsed from the bytes, one
        // string per line (the path): a thousand users make three thousand lines.
        foreach (var range in bytes.AsSpan().Split((byte)'\n'))
        {
            ReadOnlySpan<byte> rest = bytes.AsSpan(range);
            if (Number(ref rest, out var dev) && Number(ref rest, out var ino) && Number(ref rest, out var size)
                && Number(ref rest, out var cs) && Number(ref rest, out var cn) && Number(ref rest, out var key, hex: true)
                && rest.Length > 1 && rest[0] == (byte)'/')
                v._entries[Encoding.UTF8.GetString(rest)] = new Entry(dev, ino, (long)size, (long)cs, (long)cn, key);
        }
        return v;
    }

    /// <summary>
    /// The file or directory (lstat of it) is the one a check last found holding <paramref name="key"/>'s content (for a
    /// directory: its entries, whose every change moves the directory's change time).
    /// </summary>
    public bool IsVerified(string path, ulong key, in FileStat st) =>
        _enabled && (st.IsFile || st.IsDir) && _entries.TryGetValue(path, out var e) && e == Of(st, key);

    /// <summary>The number before the next space (decimal, or hex), and the rest after it.</summary>
    private static bool Number(ref ReadOnlySpan<byte> rest, out ulong value, bool hex = false)
    {
        value = 0;
        var space = rest.IndexOf((byte)' ');
        if (space <= 0) return false;
        var ok = ulong.TryParse(rest[..space], hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None, CultureInfo.InvariantCulture, out value);
        rest = rest[(space + 1)..];
        return ok;
    }

    /// <summary>Skips reads but records nothing (doctor: checking changes no state).</summary>
    public VerifiedFiles ReadOnly()
    {
        _readOnly = true;
        return this;
    }

    /// <summary>A check read the file through a descriptor with this stat and found it current.</summary>
    public void Record(string path, ulong key, in FileStat st)
    {
        if (!_enabled || _readOnly || path.Contains('\n')) return;
        var entry = Of(st, key);
        if (_entries.TryGetValue(path, out var old) && old == entry) return;
        _entries[path] = entry;
        _dirty = true;
    }

    /// <summary>Writes the record when it changed (root 0600, atomic); a failure only costs the next run its reads.</summary>
    public void Save(RootedFs fs)
    {
        if (!_enabled || !_dirty) return;
        var sb = new StringBuilder(_entries.Count * 80);
        foreach (var (path, e) in _entries)
            sb.Append(CultureInfo.InvariantCulture, $"{e.Dev} {e.Ino} {e.Size} {e.CtimeSec} {e.CtimeNsec} {e.Key:x} {path}\n");
        try
        {
            fs.EnsureParents(Path);
            fs.WriteAtomic(Path, Encoding.UTF8.GetBytes(sb.ToString()), O(600));
            _dirty = false;
        }
        catch (Exception e) when (e is SysException or IOException) { }
    }

    /// <summary>A stable 64-bit key of wanted content (FNV-1a): the same bytes give the same key in every run.</summary>
    public static ulong KeyOf(ReadOnlySpan<byte> content)
    {
        var h = 14695981039346656037UL;
        foreach (var b in content) { h ^= b; h *= 1099511628211UL; }
        return h;
    }

    private static Entry Of(in FileStat st, ulong key) => new(st.Dev, st.Ino, st.Size, st.CtimeSec, st.CtimeNsec, key);
}
