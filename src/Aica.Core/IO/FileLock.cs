using System.Text;
using Aica.Native;
using static Aica.Native.Flags;
using static Aica.Native.Perms;

namespace Aica.IO;

/// <summary>
/// An exclusive fcntl OFD lock on a lock file (works across NFS clients, released when the descriptor closes,
/// so a killed process never leaves a stale lock).
/// </summary>
public sealed class FileLock : IDisposable
{
    private readonly SafeFd _fd;
    private FileLock(SafeFd fd) => _fd = fd;

    /// <summary>Takes the lock, waiting up to <paramref name="wait"/>; exit 4 when still busy.</summary>
    /// <param name="holder">
    /// Written into the lock file once the lock is held (<c>HOST pid N since T</c>, see <see cref="Holder"/>), so a
    /// command on another node that waits in vain can say who holds it; null writes nothing (the node-local run lock).
    /// </param>
    public static FileLock Acquire(RootedFs fs, string path, TimeSpan wait, string what, CancellationToken ct = default, string? holder = null)
    {
        fs.EnsureParents(path);
        var (dir, name) = fs.OpenParent(path);
        SafeFd fd;
        using (dir) fd = Sys.OpenAt(dir.Fd, name, O_RDWR | O_CREAT | O_NOFOLLOW, O(600), fs.Host(path));
        var deadline = DateTime.UtcNow + wait;
        var delay = 10;
        while (true)
        {
            if (Sys.TryLock(fd, true, fs.Host(path)))
            {
                if (holder is not null) RecordHolder(fd, holder, fs.Host(path));
                return new FileLock(fd);
            }
            if (DateTime.UtcNow >= deadline)
            {
                fd.Dispose();
                var who = holder is null ? null : ReadHolder(fs, path);
                var by = who is null ? "another aica command holds" : $"held by {who} (lock file";
                throw new AicaException($"{what} is busy: {by} {fs.Host(path)}{(who is null ? "" : ")")} (waited {wait.TotalSeconds:0}s; use --wait)", ExitCodes.LockBusy);
            }
            // Polling keeps the wait cancellable (SIGINT/SIGTERM) without a blocking F_OFD_SETLKW.
            ct.WaitHandle.WaitOne(delay);
            ct.ThrowIfCancellationRequested();
            delay = Math.Min(delay * 2, 200);
        }
    }

    /// <summary>The holder line of a shared lock: host, pid and the time it was taken in UTC (nodes' clocks differ; UTC at least reads the same everywhere).</summary>
    public static string Holder(DateTime utcNow) => $"{Sys.HostName()} pid {Sys.Pid} since {utcNow:yyyy-MM-ddTHH:mm:ssZ}";

    // Only the holder writes the file, under the lock; a holder that was killed leaves its line behind, but then the lock
    // is free and the next holder overwrites it before anyone could read it as the reason for a wait.
    private static void RecordHolder(SafeFd fd, string holder, string display)
    {
        try
        {
            Sys.Ftruncate(fd, 0, display);
            Sys.WriteAll(fd, Encoding.UTF8.GetBytes(holder + "\n"), display);
        }
        catch (SysException) { /* the lock is what matters; the line only explains a wait */ }
    }

    /// <summary>The holder line recorded in a lock file, or null (none, unreadable, or not a line aica wrote).</summary>
    public static string? ReadHolder(RootedFs fs, string path)
    {
        try
        {
            var text = fs.ReadText(path)?.Trim();
            return string.IsNullOrEmpty(text) || text.Length > 300 || text.Any(char.IsControl) ? null : text;
        }
        catch (SysException) { return null; }
    }

    public void Dispose()
    {
        // Unlock before close: a child process forked by another thread shares the open file until its exec, and the
        // lock would live on in it for that moment.
        if (!_fd.IsInvalid && !_fd.IsClosed) Sys.Unlock(_fd);
        _fd.Dispose();
    }
}
