using System.Collections.Concurrent;
using Aica.Accounts;
using Aica.Config;
using Aica.IO;
using Aica.Native;
using Aica.Services;
using Aica.Site;
using static Aica.Native.Flags;

namespace Aica.Data;

/// <summary>One dataset: a directory directly under data.datasets.</summary>
public sealed record DatasetInfo(string Name, string Path, long SizeBytes, long Files, long Dirs, string Owner, string Group, uint Mode,
    long Unreadable, long Errors, string? FirstUnreadable)
{
    /// <summary>Judged from mode bits (group G or other); <c>aica data verify</c> asks the kernel as each member.</summary>
    public bool MembersCanRead => Unreadable == 0;
    public string SizeHuman => Human.Bytes(SizeBytes);
}

/// <summary>aica data list: each dataset's size (apparent bytes, hard links once, as <c>du -sb</c>), counts, owner and mode.</summary>
public sealed class DatasetService(AicaServices s)
{
    public IReadOnlyList<DatasetInfo> List(CancellationToken ct = default, IReadOnlySet<string>? only = null)
    {
        var config = s.LoadConfig();
        s.RequireDataMounted();
        var db = s.Accounts.Load();
        var gid = Site.DesiredStateBuilder.SharedGid(config, db) is { } g ? (uint?)g : null;
        var list = new List<DatasetInfo>();
        using var top = s.Fs.TryOpenDir(config.Datasets, out var errno);
        if (top is null)
        {
            if (errno == ENOENT) return list;
            throw new SysException(errno, "open", s.Fs.Host(config.Datasets));
        }
        foreach (var (name, _, _) in Sys.ReadDir(top, config.Datasets).OrderBy(e => e.Name, ByteOrder.Instance))
        {
            ct.ThrowIfCancellationRequested();
            var z = Sys.Z(name);
            var st = Sys.LstatAt(top.Fd, z, config.Datasets);
            if (st is not { IsDir: true }) continue;
            var display = SafeOps.Escape(name);
            if (only is not null && !only.Contains(display)) continue;
            var path = $"{config.Datasets}/{display}";
            using var fd = Sys.TryOpenAt(top.Fd, z, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, out _);
            if (fd is null) continue; // swapped for a link or removed since the listing
            var v = new SizeVisitor(gid);
            TreeWalker.Default().Walk(fd, path, v, ct);
            var owner = db.UserById((int)st.Value.Uid)?.Name ?? st.Value.Uid.ToString();
            var group = db.GroupById((int)st.Value.Gid)?.Name ?? st.Value.Gid.ToString();
            list.Add(new DatasetInfo(display, path, v.Bytes, v.Files, v.Dirs, owner, group, st.Value.Perm, v.Unreadable, v.Errors, v.FirstUnreadable));
        }
        return list;
    }

    /// <summary>Sums apparent sizes (hard links once) and counts what members could not read by mode bits.</summary>
    private sealed class SizeVisitor(uint? gid) : IWalkVisitor
    {
        public long Bytes, Files, Dirs, Unreadable, Errors;
        public string? FirstUnreadable;
        private readonly ConcurrentDictionary<(ulong, ulong), byte> _seen = new();

        private bool Readable(in FileStat st, bool dir)
        {
            uint need = dir ? 5u : 4u; // r-x for a directory, r-- for a file
            if ((st.Perm & need) == need) return true;
            return gid is { } g && st.Gid == g && ((st.Perm >> 3) & need) == need;
        }

        private void Unread(string path)
        {
            if (Interlocked.Increment(ref Unreadable) == 1) FirstUnreadable = path;
        }

        public bool VisitDirectory(SafeFd dir, in FileStat st, string path, int depth)
        {
            Interlocked.Increment(ref Dirs);
            Interlocked.Add(ref Bytes, st.Size);
            if (!Readable(st, true)) Unread(path);
            return true;
        }

        public void VisitEntry(in WalkEntry e)
        {
            var st = e.Stat;
            if (st.Nlink > 1 && !st.IsDir && !_seen.TryAdd((st.Dev, st.Ino), 0)) return;
            Interlocked.Add(ref Bytes, st.Size);
            if (!st.IsFile) return;
            Interlocked.Increment(ref Files);
            if (!Readable(st, false)) Unread(e.Path);
        }

        public void OnError(string path, SysException error) => Interlocked.Increment(ref Errors);
    }
}
