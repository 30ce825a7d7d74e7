using Aica.Native;
using static Aica.Native.Flags;

namespace Aica.IO;

/// <summary>One non-directory (or a directory not entered) seen by a walk.</summary>
public readonly struct WalkEntry(SafeFd parent, byte[] zname, FileStat stat, string parentPath)
{
    public SafeFd Parent { get; } = parent;
    /// <summary>NUL-terminated name, ready for *at calls.</summary>
    public byte[] ZName { get; } = zname;
    public FileStat Stat { get; } = stat;
    public string ParentPath { get; } = parentPath;
    public ReadOnlySpan<byte> Name => ZName.AsSpan(0, ZName.Length - 1);
    public string Path => ParentPath + "/" + SafeOps.Escape(Name);
}

/// <summary>What a walk calls back. Implementations must be thread-safe: the walk is parallel.</summary>
public interface IWalkVisitor
{
    /// <summary>A directory, opened O_NOFOLLOW; change it through <paramref name="dir"/>. Return false to not descend.</summary>
    bool VisitDirectory(SafeFd dir, in FileStat stat, string path, int depth);

    /// <summary>Anything that is not a directory (files, links, FIFOs, sockets, devices).</summary>
    void VisitEntry(in WalkEntry entry);

    /// <summary>A per-entry error the walk went past.</summary>
    void OnError(string path, SysException error);
}

/// <summary>Optional: called once a directory's entries have all been visited (its subdirectories may still be pending).</summary>
public interface IWalkDirectoryDone
{
    void DirectoryDone(SafeFd dir, in FileStat stat, string path, int depth);
}

/// <summary>
/// Link-safe, parallel tree walk (SPEC §6.1–2): each directory is opened with O_NOFOLLOW|O_DIRECTORY relative to
/// its already-open parent and must be the inode the listing showed; links are reported, never entered; the
/// walk never leaves the starting file system.
/// </summary>
public sealed class TreeWalker(int parallelism)
{
    public int Parallelism { get; } = Math.Max(1, parallelism);

    public static TreeWalker Default() => new(Math.Clamp(Environment.ProcessorCount * 2, 2, 16));

    /// <summary>Told the entries and bytes of each directory once it is listed (one call per directory, not per entry).</summary>
    public IProgressReporter Progress { get; init; } = NoProgress.Instance;

    private sealed class DirRef(SafeFd fd)
    {
        private int _refs = 1;
        public SafeFd Fd { get; } = fd;
        public void AddRef() => Interlocked.Increment(ref _refs);
        public void Release() { if (Interlocked.Decrement(ref _refs) == 0) Fd.Dispose(); }
    }

    private readonly record struct Work(DirRef? Parent, byte[] ZName, ulong Ino, string Path, int Depth, SafeFd? Opened);

    /// <summary>Walks the directory <paramref name="root"/> (owned by the caller) named <paramref name="rootPath"/>.</summary>
    public void Walk(SafeFd root, string rootPath, IWalkVisitor visitor, CancellationToken ct = default)
    {
        var rootStat = Sys.Fstat(root, rootPath);
        var dev = rootStat.Dev;
        var stack = new Stack<Work>();
        var pending = 0;
        var gate = new object();
        Exception? fatal = null;

        // The root is visited on the caller's descriptor, which the caller keeps.
        if (!visitor.VisitDirectory(root, rootStat, rootPath, 0)) return;
        var rootDup = Sys.OpenAt(root.Fd, ".", O_RDONLY | O_DIRECTORY);
        stack.Push(new Work(null, Sys.Z("."), rootStat.Ino, rootPath, 0, rootDup));
        pending = 1;

        void Worker()
        {
            while (true)
            {
                Work w;
                lock (gate)
                {
                    while (stack.Count == 0 && pending > 0 && fatal is null) Monitor.Wait(gate);
                    if (pending == 0 || fatal is not null) { Monitor.PulseAll(gate); return; }
                    w = stack.Pop();
                }
                try { ProcessDir(w); }
                catch (OperationCanceledException e) { lock (gate) fatal ??= e; }
                catch (Exception e) when (e is not SysException) { lock (gate) fatal ??= e; }
                finally
                {
                    lock (gate)
                    {
                        pending--;
                        Monitor.PulseAll(gate);
                    }
                }
            }
        }

        void ProcessDir(Work w)
        {
            ct.ThrowIfCancellationRequested();
            SafeFd? fd = w.Opened;
            if (fd is null)
            {
                fd = Sys.TryOpenAt(w.Parent!.Fd.Fd, w.ZName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, out var errno);
                w.Parent.Release();
                if (fd is null)
                {
                    if (errno != ENOENT) visitor.OnError(w.Path, new SysException(errno, "open", w.Path));
                    return; // ENOENT: removed meanwhile; ELOOP/ENOTDIR: swapped for a link or file meanwhile, not entered
                }
            }
            var me = new DirRef(fd);
            try
            {
                FileStat st;
                try { st = Sys.Fstat(fd, w.Path); }
                catch (SysException e) { visitor.OnError(w.Path, e); return; }
                if (st.Ino != w.Ino || st.Dev != dev) return; // swapped between listing and open, or another fs
                if (w.Depth > 0 && !visitor.VisitDirectory(fd, st, w.Path, w.Depth)) return;
                try { ListDir(w, fd, me); }
                finally { if (visitor is IWalkDirectoryDone done && !ct.IsCancellationRequested) done.DirectoryDone(fd, st, w.Path, w.Depth); }
            }
            finally { me.Release(); }
        }

        void ListDir(Work w, SafeFd fd, DirRef me)
        {
            List<(byte[] Name, byte Type, ulong Ino)> entries;
            try { entries = Sys.ReadDir(fd, w.Path); }
            catch (SysException e) { visitor.OnError(w.Path, e); return; }

            // Progress is told in batches: once per directory, and every 1024 entries of a big one.
            long seen = 0, bytes = 0;
            try
            {
                foreach (var (name, _, _) in entries)
                {
                    List(name);
                    if (seen >= 1024) { Progress.Advance(seen, bytes); seen = bytes = 0; }
                }
            }
            finally { Progress.Advance(seen, bytes); }

            void List(byte[] name)
            {
                ct.ThrowIfCancellationRequested();
                var z = Sys.Z(name);
                int err;
                FileStat cst;
                unsafe { fixed (byte* p = z) err = Sys.TryLstatAt(fd.Fd, p, out cst); }
                if (err != 0)
                {
                    if (err != ENOENT) visitor.OnError(w.Path + "/" + SafeOps.Escape(name), new SysException(err, "stat", w.Path));
                    return;
                }
                seen++;
                if (!cst.IsDir) bytes += cst.Size;
                if (cst.IsDir && cst.Dev == dev)
                {
                    me.AddRef();
                    lock (gate)
                    {
                        stack.Push(new Work(me, z, cst.Ino, w.Path + "/" + SafeOps.Escape(name), w.Depth + 1, null));
                        pending++;
                        Monitor.Pulse(gate);
                    }
                }
                else
                {
                    visitor.VisitEntry(new WalkEntry(fd, z, cst, w.Path));
                }
            }
        }

        if (Parallelism == 1) Worker();
        else
        {
            var threads = new Thread[Parallelism];
            for (var i = 0; i < threads.Length; i++)
            {
                threads[i] = new Thread(Worker) { IsBackground = true, Name = "aica-walk" };
                threads[i].Start();
            }
            foreach (var t in threads) t.Join();
        }
        // Drain anything left after a fatal error so no descriptor leaks.
        while (stack.Count > 0) { var w = stack.Pop(); w.Parent?.Release(); w.Opened?.Dispose(); }
        if (fatal is not null) throw fatal is OperationCanceledException oc ? oc : new AggregateException(fatal);
    }
}
