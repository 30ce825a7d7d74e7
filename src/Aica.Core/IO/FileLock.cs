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
        return new FileLock(OpenLocked(fs, path, O_RDWR, wait, ct, () =>
            new AicaException($"{what} is busy: another aica command holds {fs.Host(path)} (waited {wait.TotalSeconds:0}s; use --wait)", ExitCodes.LockBusy)));
    }

    /// <summary>
    /// Opens <paramref name="path"/> (never through a link; made 0600) and takes its exclusive lock, trying again with a
    /// growing pause until <paramref name="wait"/> has passed; then <paramref name="busy"/> is thrown.
    /// </summary>
    public static SafeFd OpenLocked(RootedFs fs, string path, int flags, TimeSpan wait, CancellationToken ct, Func<AicaException> busy, int firstPauseMs = 10)
    {
        var (dir, name) = fs.OpenParent(path);
        SafeFd fd;
        using (dir) fd = Sys.OpenAt(dir.Fd, name, flags | O_CREAT | O_NOFOLLOW, O(600), fs.Host(path));
        var deadline = DateTime.UtcNow + wait;
        var pause = firstPauseMs;
        try
        {
            while (!Sys.TryLock(fd, true, fs.Host(path)))
            {
                if (DateTime.UtcNow >= deadline) throw busy();
                // Polling keeps the wait cancellable (SIGINT/SIGTERM) without a blocking F_OFD_SETLKW.
                ct.WaitHandle.WaitOne(pause);
                ct.ThrowIfCancellationRequested();
                pause = Math.Min(pause * 2, 200);
            }
        }
        catch
        {
            fd.Dispose();
            throw;
        }
        return fd;
    }

    public void Dispose()
    {
        // Unlock before close: a child process forked by another thread shares the open file until its exec, and the
        // lock would live on in it for that moment.
        if (!_fd.IsInvalid && !_fd.IsClosed) Sys.Unlock(_fd);
        _fd.Dispose();
    }
}
