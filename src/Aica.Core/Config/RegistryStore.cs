using System.Text;
using Aica.IO;
using Aica.Native;
using static Aica.Native.Flags;
using static Aica.Native.Perms;

namespace Aica.Config;

/// <summary>
/// Reads the registry, and changes it only under its lock with an atomic rewrite (SPEC §4). The lock is an OFD lock on
/// a file on /data itself, so it serialises writers on every node that mounts /data (NFS passes fcntl locks to the
/// server's lock manager); each write raises the registry's generation by one.
/// </summary>
/// <param name="read">Reads a file (null when absent); tests inject faults here (ESTALE). Default: <see cref="RootedFs.ReadFile"/>.</param>
public sealed class RegistryStore(RootedFs fs, Func<string, byte[]?>? read = null)
{
    /// <summary>The shared lock: registry and aica.toml writes, from any node.</summary>
    public const string LockPath = "/data/config/.users.txt.lock";

    /// <summary>How often a read that hit a stale NFS file handle is tried again (the file was replaced by a rename on another node).</summary>
    public const int StaleRetries = 5;

    private readonly Func<string, byte[]?> _read = read ?? fs.ReadFile;

    /// <summary>The generation alone: the header line is read, the users are not parsed (fleet status, sync's message).</summary>
    public long Generation() => Registry.GenerationOf(Encoding.UTF8.GetString(Read(AicaConfig.RegistryPath) ?? []));

    public Registry Load() => Registry.Parse(Encoding.UTF8.GetString(Read(AicaConfig.RegistryPath) ?? []));

    /// <summary>
    /// A file under /data/config, read whole. Writers replace files by rename, so a reader sees the old file or the new
    /// one, never half of one; over NFS the old one may be gone from the server by the time it is read (ESTALE): then
    /// the name is looked up again, from freshly opened directories.
    /// </summary>
    public byte[]? Read(string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            try { return _read(path); }
            catch (SysException e) when (e.Errno == ESTALE && attempt < StaleRetries)
            {
                fs.ForgetDirs("/data/config");
            }
        }
    }

    private readonly object _gate = new();
    private FileLock? _held;
    private int _depth;

    /// <summary>
    /// The shared lock, with this node's name, pid and the time written into it for whoever waits. Re-entrant within
    /// this store (one command): user add holds it from choosing a uid to registering it, and the registry write inside
    /// must not wait for its own command (two OFD locks of one process conflict like any two).
    /// </summary>
    public IDisposable Lock(TimeSpan wait, CancellationToken ct = default)
    {
        lock (_gate)
        {
            if (_held is not null) { _depth++; return new Release(this); }
        }
        var l = FileLock.Acquire(fs, LockPath, wait, "the shared config on /data (users.txt, aica.toml)", ct, FileLock.Holder(DateTime.UtcNow));
        lock (_gate) { _held = l; _depth = 1; }
        return new Release(this);
    }

    private void Exit()
    {
        lock (_gate)
        {
            if (--_depth > 0) return;
            _held?.Dispose();
            _held = null;
        }
    }

    private sealed class Release(RegistryStore store) : IDisposable
    {
        private int _done;
        public void Dispose() { if (Interlocked.Exchange(ref _done, 1) == 0) store.Exit(); }
    }

    /// <summary>
    /// Reloads under the lock, applies <paramref name="change"/>, and writes only if the text changed, with the
    /// generation raised by one (a file edited by hand without a generation line starts at 1).
    /// </summary>
    public T Update<T>(Func<Registry, T> change, TimeSpan wait, CancellationToken ct = default)
    {
        using var _ = Lock(wait, ct);
        // An admin's editor does not take the lock: a file that changed between this read and the rename is read again
        // and the change made again on it, so a hand edit saved meanwhile is not overwritten.
        for (var attempt = 0; ; attempt++)
        {
            var seen = Stamp();
            // Decoded losslessly: a line an admin typed in another encoding is written back byte for byte (SPEC §4).
            var (before, encoding) = RawText.Decode(Read(AicaConfig.RegistryPath) ?? []);
            var reg = Registry.Parse(before);
            var result = change(reg);
            if (reg.Render() == before) return result;
            reg.SetGeneration(reg.Generation + 1);
            if (Stamp() != seen && attempt < 3) continue;
            fs.EnsureParents(AicaConfig.RegistryPath);
            fs.WriteAtomic(AicaConfig.RegistryPath, encoding.GetBytes(reg.Render()), O(644));
            return result;
        }
    }

    private (ulong, long, long, long)? Stamp() =>
        fs.Lstat(AicaConfig.RegistryPath) is { } st ? (st.Ino, st.Size, st.MtimeSec, st.MtimeNsec) : null;
}
