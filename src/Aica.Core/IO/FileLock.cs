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
    public static FileLock Acquire(RootedFs fs, string path, TimeSpan wait, string what, CancellationToken ct = default)
    {
        fs.EnsureParents(path);
        var (dir, name) = fs.OpenParent(path);
        SafeFd fd;
        using (dir) fd = Sys.OpenAt(dir.Fd, name, O_RDWR | O_CREAT | O_NOFOLLOW, O(600), fs.Host(path));
        var deadline = DateTime.UtcNow + wait;
        var delay = 10;
        while (true)
        {
            if (Sys.TryLock(fd, true, fs.Host(path))) return new FileLock(fd);
            if (DateTime.UtcNow >= deadline)
            {
                fd.Dispose();
                throw new AicaException($"{what} is busy: another aica command holds {fs.Host(path)} (waited {wait.TotalSeconds:0}s; use --wait)", ExitCodes.LockBusy);
            }
            // Polling keeps the wait cancellable (SIGINT/SIGTERM) without a blocking F_OFD_SETLKW.
            ct.WaitHandle.WaitOne(delay);
            ct.ThrowIfCancellationRequested();
            delay = Math.Min(delay * 2, 200);
        }
    }

    public void Dispose()
    {
        // Unlock before close: a child process forked by another thread shares the open file until its exec, and the
        // lock would live on in it for that moment.
        if (!_fd.IsInvalid && !_fd.IsClosed) Sys.Unlock(_fd);
        _fd.Dispose();
    }
}
