using System.Globalization;
using System.Text;
using Aica.IO;
using Aica.Native;
using static Aica.Native.Flags;
using static Aica.Native.Perms;

namespace Aica.Accounts;

public sealed record NewGroup(string Name, int Gid, IReadOnlyList<string> Members);

public sealed record NewUser(string Name, int Uid, int Gid, string Gecos, string Home, string Shell, ShadowFields Shadow, IReadOnlyList<string> Groups);

/// <summary>Groups and accounts to create in one locked write of the account files (a full reset: hundreds at once).</summary>
public sealed class AccountBatch
{
    private readonly HashSet<string> _groupNames = [];
    private readonly HashSet<int> _gids = [];
    private readonly HashSet<string> _userNames = [];
    private readonly HashSet<int> _uids = [];

    public List<NewGroup> Groups { get; } = [];
    public List<NewUser> Users { get; } = [];
    public bool IsEmpty => Groups.Count == 0 && Users.Count == 0;

    /// <summary>False when the name or id is already in the batch (left to the one-by-one path, which reports the clash).</summary>
    public bool TryAdd(NewGroup g)
    {
        if (_groupNames.Contains(g.Name) || _gids.Contains(g.Gid)) return false;
        _groupNames.Add(g.Name); _gids.Add(g.Gid); Groups.Add(g);
        return true;
    }

    public bool TryAdd(NewUser u)
    {
        if (_userNames.Contains(u.Name) || _uids.Contains(u.Uid)) return false;
        _userNames.Add(u.Name); _uids.Add(u.Uid); Users.Add(u);
        return true;
    }
}

/// <summary>The account files as Latin-1 text (every byte round-trips); null when the file does not exist.</summary>
public sealed record AccountTexts(string Passwd, string Group, string Shadow, string? Gshadow);

/// <summary>
/// The edit of /etc/passwd, group, shadow and gshadow for a batch, as pure text: every existing line is kept byte
/// for byte and in place, except the member field of a group line a new member joins; new lines go before the first
/// NIS line (<c>+</c>/<c>-</c>), else at the end, as shadow-utils' commonio does. Names already present are not added twice.
/// </summary>
public static class AccountFileEdit
{
    public sealed record Result(AccountTexts Texts, IReadOnlyList<string> Notes);

    public static Result Apply(AccountTexts t, AccountBatch batch)
    {
        var notes = new List<string>();
        var group = new LineFile(t.Group, 4);
        var gshadow = t.Gshadow is null ? null : new LineFile(t.Gshadow, 4);
        var passwd = new LineFile(t.Passwd, 7);
        var shadow = new LineFile(t.Shadow, 9);
        foreach (var g in batch.Groups)
        {
            if (group.Find(g.Name) >= 0) continue;
            group.Add(g.Name, $"{g.Name}:x:{g.Gid.ToString(CultureInfo.InvariantCulture)}:{string.Join(',', g.Members)}");
            if (gshadow is not null && gshadow.Find(g.Name) < 0) gshadow.Add(g.Name, $"{g.Name}:!::{string.Join(',', g.Members)}");
        }
        foreach (var u in batch.Users)
        {
            foreach (var g in u.Groups.Distinct())
            {
                if (group.Find(g) < 0) { notes.Add($"{u.Name}: stored group {g} no longer exists: membership not restored"); continue; }
                group.AddMember(g, u.Name);
                gshadow?.AddMember(g, u.Name);
            }
            if (passwd.Find(u.Name) < 0)
                passwd.Add(u.Name, $"{u.Name}:x:{u.Uid.ToString(CultureInfo.InvariantCulture)}:{u.Gid.ToString(CultureInfo.InvariantCulture)}:{u.Gecos}:{u.Home}:{u.Shell}");
            // A shadow line without a passwd line is an orphan (a write cut short): the stored one replaces it.
            var line = u.Shadow.Render(u.Name);
            if (shadow.Find(u.Name) is var si and >= 0) shadow.Replace(si, line); else shadow.Add(u.Name, line);
        }
        return new Result(new AccountTexts(passwd.Text, group.Text, shadow.Text, gshadow?.Text), notes);
    }

    /// <summary>Lines of one file, indexed by name; only touched lines are rebuilt.</summary>
    private sealed class LineFile
    {
        private readonly List<string> _lines;
        private readonly string _original;
        private bool _changed;
        private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
        private readonly int _fields;
        private int _nis = -1;

        public LineFile(string text, int fields)
        {
            _fields = fields;
            _original = text;
            _lines = text.Length == 0 ? [] : (text.EndsWith('\n') ? text[..^1] : text).Split('\n').ToList();
            for (var i = 0; i < _lines.Count; i++)
            {
                var l = _lines[i];
                if (_nis < 0 && (l.StartsWith('+') || l.StartsWith('-'))) _nis = i;
                var colon = l.IndexOf(':');
                if (colon > 0) _index.TryAdd(l[..colon], i);
            }
        }

        public int Find(string name) => _index.GetValueOrDefault(name, -1);

        public void Add(string name, string line)
        {
            _changed = true;
            if (_nis < 0) { _index[name] = _lines.Count; _lines.Add(line); return; }
            _lines.Insert(_nis, line);
            foreach (var k in _index.Where(kv => kv.Value >= _nis).Select(kv => kv.Key).ToList()) _index[k]++;
            _index[name] = _nis++;
        }

        public void Replace(int i, string line) { _changed |= _lines[i] != line; _lines[i] = line; }

        public void AddMember(string group, string user)
        {
            var i = Find(group);
            if (i < 0) return;
            var f = _lines[i].Split(':');
            if (f.Length < _fields) return; // not a well-formed line: left as it is
            var members = f[3].Split(',', StringSplitOptions.RemoveEmptyEntries);
            if (members.Contains(user)) return;
            f[3] = f[3].Length == 0 ? user : f[3] + "," + user;
            _lines[i] = string.Join(':', f);
            _changed = true;
        }

        /// <summary>The original text when nothing changed (a missing final newline included), else every line newline-terminated.</summary>
        public string Text => !_changed ? _original : _lines.Count == 0 ? "" : string.Join('\n', _lines) + "\n";
    }
}

/// <summary>
/// Writes a batch into /etc/passwd, group, shadow and gshadow the way shadow-utils does (lib/commonio.c): the
/// lckpwdf lock (an fcntl write lock on /etc/.pwd.lock, 15 s), then each file's <c>FILE.lock</c> link holding the
/// writer's pid (a stale one, whose process is gone, is taken over), a <c>FILE-</c> backup, and the new content
/// renamed over the file with its owner and mode (mode &amp; 0664, as commonio). gshadow, group and shadow are
/// written before passwd: an interrupted write leaves no account without its shadow line. Under --root the same
/// files under ROOT/etc, without lckpwdf (as useradd -P). Then nscd and sssd caches are flushed where those tools exist (real root only).
/// </summary>
public sealed class AccountFileWriter(RootedFs fs, ProcessRunner runner)
{
    public const string PwdLock = "/etc/.pwd.lock";
    private static readonly string[] Files = ["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow"];
    public TimeSpan LockWait { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>lckpwdf's lock: on the real root only, as shadow-utils skips it with a prefix (-P).</summary>
    public bool TakePwdLock { get; init; } = fs.IsRealRoot;

    public IReadOnlyList<string> Write(AccountBatch batch, CancellationToken ct = default)
    {
        if (batch.IsEmpty) return [];
        using var pwd = TakePwdLock ? LockPasswdFiles(ct) : null;
        var locked = new List<string>();
        try
        {
            foreach (var f in Files)
            {
                if (f == "/etc/gshadow" && fs.Lstat(f) is null) continue;
                LockFile(f);
                locked.Add(f);
            }
            var texts = new AccountTexts(Read("/etc/passwd"), Read("/etc/group"), Read("/etc/shadow"), fs.Lstat("/etc/gshadow") is null ? null : Read("/etc/gshadow"));
            var (next, notes) = AccountFileEdit.Apply(texts, batch);
            Replace("/etc/gshadow", texts.Gshadow, next.Gshadow);
            Replace("/etc/group", texts.Group, next.Group);
            Replace("/etc/shadow", texts.Shadow, next.Shadow);
            Replace("/etc/passwd", texts.Passwd, next.Passwd);
            return notes;
        }
        finally
        {
            foreach (var f in Enumerable.Reverse(locked)) TryUnlink(f + ".lock");
            FlushCaches();
        }
    }

    private string Read(string path)
    {
        var b = fs.ReadFile(path) ?? throw new AicaException($"{fs.Host(path)} is missing: cannot create accounts");
        return Encoding.Latin1.GetString(b);
    }

    private void Replace(string path, string? before, string? after)
    {
        if (before is null || after is null || before == after) return;
        var st = fs.Lstat(path) ?? throw new AicaException($"{fs.Host(path)} vanished while locked");
        var mode = st.Perm & O(664);
        fs.WriteAtomic(path + "-", Encoding.Latin1.GetBytes(before), mode, st.Uid, st.Gid);
        fs.WriteAtomic(path, Encoding.Latin1.GetBytes(after), mode, st.Uid, st.Gid);
    }

    /// <summary>lckpwdf(3): an exclusive fcntl lock on /etc/.pwd.lock (0600), waited for up to 15 s.</summary>
    private SafeFd LockPasswdFiles(CancellationToken ct) =>
        FileLock.OpenLocked(fs, PwdLock, O_WRONLY | O_CLOEXEC, LockWait, ct, () =>
            new AicaException($"{fs.Host(PwdLock)} is locked by another account tool (useradd, passwd, vipw): accounts not created", ExitCodes.LockBusy),
            firstPauseMs: 5);

    /// <summary>commonio's per-file lock: FILE.PID holding the pid, hard-linked to FILE.lock (link count 2 proves it is ours).</summary>
    private void LockFile(string path)
    {
        var (dir, _) = fs.OpenParent(path);
        using (dir)
        {
            var baseName = path[(path.LastIndexOf('/') + 1)..];
            var mine = Sys.Z($"{baseName}.{Sys.Pid}");
            var lockName = Sys.Z($"{baseName}.lock");
            Sys.TryUnlinkAt(dir.Fd, mine, false);
            using (var fd = Sys.OpenAt(dir.Fd, mine, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, O(600), fs.Host(path)))
                Sys.WriteAll(fd, Encoding.ASCII.GetBytes($"{Sys.Pid}\0"), fs.Host(path));
            try
            {
                for (var attempt = 0; attempt < 2; attempt++)
                {
                    var rc = Sys.TryLinkAt(dir.Fd, mine, dir.Fd, lockName);
                    if (rc == 0)
                    {
                        if (Sys.LstatAt(dir.Fd, mine, fs.Host(path)) is { Nlink: 2 }) return;
                        throw new AicaException($"{fs.Host(path)}.lock: lock file already used");
                    }
                    if (rc != EEXIST) throw new SysException(rc, "link", fs.Host(path) + ".lock");
                    var holder = LockHolder(dir, lockName);
                    if (holder is { } pid && pid != Sys.Pid && Sys.ProcessAlive(pid))
                        throw new AicaException($"{fs.Host(path)} is locked by process {pid} (useradd, passwd, vipw?): accounts not created", ExitCodes.LockBusy);
                    Sys.TryUnlinkAt(dir.Fd, lockName, false); // stale: its process is gone
                }
                throw new AicaException($"cannot take {fs.Host(path)}.lock");
            }
            finally { Sys.TryUnlinkAt(dir.Fd, mine, false); }
        }
    }

    /// <summary>
    /// Removes the FILE.lock links a killed writer (aica or shadow-utils) left, whose process is gone: shadow-utils
    /// takes such a lock over at its next write; recover does it even when it has nothing to write, so a killed run
    /// converges. Four lstat calls when there is none.
    /// </summary>
    public void RemoveStaleLocks()
    {
        foreach (var f in Files)
        {
            if (fs.Lstat(f + ".lock") is not { IsFile: true }) continue;
            var (dir, name) = fs.OpenParent(f + ".lock");
            using (dir)
                if (LockHolder(dir, name) is not { } pid || (pid != Sys.Pid && !Sys.ProcessAlive(pid)))
                    Sys.TryUnlinkAt(dir.Fd, name, false);
        }
    }

    private static int? LockHolder(SafeFd dir, byte[] lockName)
    {
        var fd = Sys.TryOpenAt(dir.Fd, lockName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, out _);
        if (fd is null) return null;
        using (fd)
        {
            var text = Encoding.ASCII.GetString(Sys.ReadAll(fd, "lock", 64)).TrimEnd('\0', '\n');
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0 ? pid : null;
        }
    }

    private void TryUnlink(string path)
    {
        try { var (dir, name) = fs.OpenParent(path); using (dir) Sys.TryUnlinkAt(dir.Fd, name, false); }
        catch (SysException) { }
    }

    /// <summary>As shadow-utils after a change: nscd -i passwd/group and sss_cache -U -G, where installed.</summary>
    private void FlushCaches()
    {
        if (!fs.IsRealRoot) return;
        if (runner.Which("nscd") is { } nscd) { runner.Run(nscd, "-i", "passwd"); runner.Run(nscd, "-i", "group"); }
        if (runner.Which("sss_cache") is { } sss) runner.Run(sss, "-U", "-G");
    }
}
