using System.Text;
using Aica.Config;
using Aica.Engine;
using Aica.IO;
using Aica.Native;
using Aica.Site;
using Microsoft.Win32.SafeHandles;
using static Aica.Native.Flags;
using static Aica.Native.Perms;

namespace Aica.Integration;

/// <summary>
/// What adopt only reports about a bash-era server, never changes: crontab lines calling the old scripts, members never
/// registered, world-writable entries inside the shared caches, scripts whose exec bits a recursive chmod took.
/// </summary>
internal sealed class BashEraReport(AicaServices s)
{
    /// <summary>Lines in /etc that mention a text (crontabs, profile scripts, rc.local).</summary>
    public IEnumerable<(string Path, string Line)> GrepEtc(string needle) => EtcLines().Where(l => l.Line.Contains(needle));

    /// <summary>The lines (trimmed, comments left out) of the files in /etc that run or source commands; one read serves several searches.</summary>
    private List<(string Path, string Line)> EtcLines()
    {
        var lines = new List<(string Path, string Line)>();
        var files = new List<string> { "/etc/crontab", "/etc/rc.local", "/etc/bash.bashrc", "/etc/profile", "/var/spool/cron/crontabs/root" };
        foreach (var dir in new[] { "/etc/cron.d", "/etc/profile.d", "/etc/cron.hourly", "/etc/cron.daily" })
        {
            using var fd = s.Fs.TryOpenDir(dir, out _);
            if (fd is null) continue;
            files.AddRange(Sys.ReadDir(fd, s.Fs.Host(dir)).Select(e => $"{dir}/{Encoding.UTF8.GetString(e.Name)}"));
        }
        foreach (var f in files)
        {
            string? text;
            try { text = s.Fs.Lstat(f) is { IsFile: true } ? s.Fs.ReadText(f) : null; }
            catch (SysException) { continue; }
            if (text is null) continue;
            foreach (var line in text.Split('\n'))
                if (!line.TrimStart().StartsWith('#')) lines.Add((f, line.Trim()));
        }
        return lines;
    }

    public void ReportCrontabs(List<string> warnings)
    {
        var etc = EtcLines(); // once for all the script folders
        foreach (var dir in RetiredFiles.LegacyScriptDirs)
            foreach (var (path, line) in etc.Where(p => p.Line.Contains(dir + "/") && p.Path != Templates.CronPath))
            {
                var script = RetiredFiles.WrappedScripts.FirstOrDefault(n => line.Contains($"{dir}/{n}"));
                warnings.Add(script is null
                    ? $"{path}: '{line}' runs a bash-era script aica does not wrap; replace it with the aica command"
                    : $"{path}: '{line}' keeps working through the wrapper; aica's own schedule (docs/scheduling.md) already runs that job, so this line can go");
            }
    }

    public void ReportUnregisteredMembers(AicaConfig config, Registry registry, Accounts.AccountDb db, List<string> warnings)
    {
        foreach (var m in db.MembersOf(config.Group).Order())
            if (registry.Find(m) is null && s.Fs.Lstat($"/data/users/{m}") is { IsDir: true })
                warnings.Add($"{m} is a member of {config.Group} with data in /data/users/{m} but was never registered (user-register.sh was skipped): "
                    + $"their home is not rebuilt after a reboot; aica user add {m} adopts the account");
    }

    /// <summary>Shared caches: entries still world-writable inside (the recursive fix is aica perms).</summary>
    public void ReportSharedContents(AicaConfig config, List<string> warnings)
    {
        foreach (var (_, path) in config.SharedCaches)
        {
            using var fd = s.Fs.TryOpenDir(path, out _);
            if (fd is null) continue;
            var v = new Scan((in WalkEntry e) => (e.Stat.Perm & O(2)) != 0 && !e.Stat.IsLink, dirCheck: st => (st.Perm & O(2)) != 0);
            TreeWalker.Default().Walk(fd, s.Fs.Host(path), v);
            if (v.Count > 0) warnings.Add($"{path}: {v.Count} world-writable entries inside (e.g. {v.Examples.First()}); aica perms {path} normalises them");
        }
    }

    private const int O_NOATIME = 0x40000;

    /// <summary>
    /// Scripts and programs whose exec bits a recursive chmod took away: files with no x bit that start with #! or
    /// an ELF header, in bin/ folders or named *.sh. Only read (O_NOFOLLOW, O_NOATIME): nothing is changed.
    /// </summary>
    public void ReportStrippedExecBits(AicaConfig config, Registry registry, List<string> warnings)
    {
        var roots = new List<string> { config.CondaRoot, config.Code };
        roots.AddRange(registry.Users.Select(u => $"/data/users/{u.Name}"));
        foreach (var root in roots)
        {
            using var fd = s.Fs.TryOpenDir(root, out _);
            if (fd is null) continue;
            var v = new Scan(LostExecBit);
            TreeWalker.Default().Walk(fd, s.Fs.Host(root), v);
            if (v.Count > 0)
                warnings.Add($"{root}: {v.Count} scripts or programs have no exec bit (a recursive chmod of the bash era took it), e.g. {string.Join(", ", v.Examples)}; "
                    + "not changed: their owners restore them with chmod +x");
        }
    }

    private static bool LostExecBit(in WalkEntry e)
    {
        if (!e.Stat.IsFile || (e.Stat.Perm & O(111)) != 0 || e.Stat.Size < 4) return false;
        var name = e.Name;
        var inBin = e.ParentPath.EndsWith("/bin");
        if (!inBin && !name.EndsWith(".sh"u8)) return false;
        using var fd = Sys.TryOpenAt(e.Parent.Fd, e.ZName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_NOATIME, out var errno)
            ?? Sys.TryOpenAt(e.Parent.Fd, e.ZName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, out errno);
        if (fd is null) return false;
        var head = new byte[4];
        using var h = new SafeFileHandle(fd.DangerousGetHandle(), ownsHandle: false);
        int n;
        try { n = RandomAccess.Read(h, head, 0); }
        catch (IOException) { return false; }
        return n == 4 && ((head[0] == '#' && head[1] == '!') || (head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F'));
    }

    private delegate bool EntryTest(in WalkEntry e);

    private sealed class Scan(EntryTest test, Func<FileStat, bool>? dirCheck = null) : IWalkVisitor
    {
        private int _count;
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _examples = new();
        public int Count => _count;
        public IEnumerable<string> Examples => _examples.Take(5);

        private void Hit(string path)
        {
            if (Interlocked.Increment(ref _count) <= 5) _examples.Enqueue(path);
        }

        public bool VisitDirectory(SafeFd dir, in FileStat stat, string path, int depth)
        {
            if (depth > 0 && dirCheck?.Invoke(stat) == true) Hit(path);
            return true;
        }

        public void VisitEntry(in WalkEntry e) { if (test(e)) Hit(e.Path); }

        public void OnError(string path, SysException error) { }
    }
}
