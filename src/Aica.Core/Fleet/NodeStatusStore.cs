using Aica.Contracts;
using Aica.IO;
using Aica.Native;
using Aica.Site;
using static Aica.Native.Perms;

namespace Aica.Fleet;

/// <summary>One file of /data/admin/nodes: its name, when the file server last saw it written, and what it says (or why not).</summary>
public sealed record NodeFile(string Name, DateTimeOffset? Modified, NodeStatus? Status, string? Problem);

/// <summary>The node status files on /data (<see cref="Dir"/>), one per node, each replaced atomically by its node only.</summary>
public sealed class NodeStatusStore(RootedFs fs)
{
    public const string Dir = "/data/admin/nodes";

    /// <summary>A file name for a host name: the characters a host name has; anything else (a crafted name) becomes '_'.</summary>
    public static string FileName(string host) =>
        string.Concat(host.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' ? c : '_')).TrimStart('.') is { Length: > 0 } n ? n + ".json" : "_.json";

    public string PathOf(string host) => $"{Dir}/{FileName(host)}";

    /// <summary>This node's last status, to carry forward what this run did not redo (doctor keeps the last recovery...).</summary>
    public NodeStatus? ReadOwn(string host)
    {
        try { return fs.ReadFile(PathOf(host)) is { } b ? NodeStatusJson.Read(b).Status : null; }
        catch (SysException) { return null; }
    }

    public void Write(NodeStatus status)
    {
        // Before init made them (a node's first recover): the folders with init's own modes, from the one table of them.
        foreach (var (dir, mode) in DesiredStateBuilder.FixedDirs.Where(d => d.Path is "/data" or "/data/admin" or Dir))
            if (fs.Lstat(dir) is null) fs.EnsureDir(dir, mode, 0, 0);
        fs.WriteAtomic(PathOf(status.Host), NodeStatusJson.Write(status), O(644));
    }

    /// <summary>
    /// Marks the file as current without rewriting it (the no-op sync: one system call instead of a write, fsync and
    /// rename). The file server's clock sets the time (UTIME_NOW), so a node with a wrong clock is not seen as stale.
    /// False when there is no file yet.
    /// </summary>
    public bool Touch(string host)
    {
        try
        {
            var (dir, name) = fs.OpenParent(PathOf(host));
            using (dir)
            {
                var fd = Sys.TryOpenAt(dir.Fd, name, Flags.O_RDONLY | Flags.O_NOFOLLOW, out _);
                if (fd is null) return false;
                using (fd) Sys.FutimensNow(fd, fs.Host(PathOf(host)));
                return true;
            }
        }
        catch (SysException) { return false; }
    }

    /// <summary>Every node file, each read once; a torn, foreign or unreadable one is listed with its problem, never trusted.</summary>
    public List<NodeFile> ReadAll()
    {
        var list = new List<NodeFile>();
        foreach (var name in fs.List(Dir)) // in name order; empty when there is no folder yet
        {
            if (!name.EndsWith(".json", StringComparison.Ordinal) || name.StartsWith('.')) continue; // temp files of a writer are dot files
            var path = $"{Dir}/{name}";
            try
            {
                var st = fs.Lstat(path);
                if (st is not { IsFile: true }) { list.Add(new NodeFile(name, null, null, "not a regular file")); continue; }
                var modified = DateTimeOffset.FromUnixTimeSeconds(st.Value.MtimeSec).AddTicks(st.Value.MtimeNsec / 100);
                if (st.Value.Size > 1 << 20) { list.Add(new NodeFile(name, modified, null, "larger than 1 MiB: not a node status")); continue; }
                var (status, problem) = NodeStatusJson.Read(fs.ReadFile(path) ?? []);
                list.Add(new NodeFile(name, modified, status, problem));
            }
            catch (SysException e) { list.Add(new NodeFile(name, null, null, e.Message)); }
        }
        return list;
    }
}
