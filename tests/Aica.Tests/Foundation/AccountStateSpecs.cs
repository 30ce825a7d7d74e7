using System.Text;
using Aica.Accounts;
using Aica.Config;
using Aica.Engine;
using Aica.IO;
using Aica.Native;
using Aica.Tests.Infra;

namespace Aica.Tests.Foundation;

/// <summary>
/// Issue 11 points 3 and 4 as units: the account-file edit keeps every other byte, the locked writer follows
/// shadow-utils' locks, the stored state refuses a truncated, corrupt or exposed file, and a capture forgets
/// nothing it cannot see.
/// </summary>
public sealed class AccountStateSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("aica-acct-").FullName;

    public void Dispose() => Directory.Delete(_root, true);

    private static readonly Encoding L1 = Encoding.Latin1;
    private static readonly ShadowFields Hash = new("$6$salt$abc", "20000", "0", "99999", "7", "", "", "");

    private static AccountBatch Batch(params object[] items)
    {
        var b = new AccountBatch();
        foreach (var i in items)
            Assert.True(i switch { NewGroup g => b.TryAdd(g), NewUser u => b.TryAdd(u), _ => false });
        return b;
    }

    private static NewUser User(string name, int id, params string[] groups) =>
        new(name, id, id, "Alice Ä,,,", $"/home/{name}", "/bin/zsh", Hash, groups);

    [Trait("level", "unit")]
    [Fact]
    public void The_edit_keeps_every_other_line_byte_for_byte_and_in_place()
    {
        // A Latin-1 GECOS, a comment, CRLF junk and a missing final newline: all kept as they are.
        var passwd = "root:x:0:0:root:/root:/bin/bash\n# admin note\nbob:x:1001:1001:B\u00e9b:/home/bob:/bin/bash\r\nodd line\nlast:x:1002:1002::/h:/bin/sh";
        var group = "root:x:0:\nvideo:x:44:bob\nsudo:x:27:\n";
        var r = AccountFileEdit.Apply(new AccountTexts(passwd, group, "root:*:1:0:99999:7:::\n", "root:*::\nvideo:*::bob\n"),
            Batch(new NewGroup("alice", 3001, []), User("alice", 3001, "video")));
        Assert.Equal(passwd + "\nalice:x:3001:3001:Alice Ä,,,:/home/alice:/bin/zsh\n", r.Texts.Passwd);
        Assert.Equal("root:x:0:\nvideo:x:44:bob,alice\nsudo:x:27:\nalice:x:3001:\n", r.Texts.Group);
        Assert.Equal("root:*::\nvideo:*::bob,alice\nalice:!::\n", r.Texts.Gshadow);
        Assert.Equal("root:*:1:0:99999:7:::\nalice:$6$salt$abc:20000:0:99999:7:::\n", r.Texts.Shadow);
        Assert.Empty(r.Notes);
    }

    [Trait("level", "unit")]
    [Fact]
    public void New_lines_go_before_the_first_NIS_line_and_names_present_are_not_added_twice()
    {
        var r = AccountFileEdit.Apply(new AccountTexts("root:x:0:0::/root:/bin/sh\n+@netgroup::::::\n", "root:x:0:\ngpu:x:2500:alice\n+:::\n", "", null),
            Batch(new NewGroup("gpu", 2500, []), new NewGroup("lab", 5000, ["carol"]), User("alice", 3001, "gpu", "lab", "gone")));
        Assert.Equal("root:x:0:0::/root:/bin/sh\nalice:x:3001:3001:Alice Ä,,,:/home/alice:/bin/zsh\n+@netgroup::::::\n", r.Texts.Passwd);
        Assert.Equal("root:x:0:\ngpu:x:2500:alice\nlab:x:5000:carol,alice\n+:::\n", r.Texts.Group);
        Assert.Null(r.Texts.Gshadow);
        Assert.Equal(["alice: stored group gone no longer exists: membership not restored"], r.Notes);
    }

    [Trait("level", "unit")]
    [Fact]
    public void An_orphan_shadow_line_left_by_a_cut_write_is_replaced_not_duplicated()
    {
        var r = AccountFileEdit.Apply(new AccountTexts("root:x:0:0::/:/bin/sh\n", "root:x:0:\n", "alice:!:1:0:99999:7:::\nroot:*:1:0:99999:7:::\n", "root:*::"),
            Batch(User("alice", 3001)));
        Assert.Equal("alice:$6$salt$abc:20000:0:99999:7:::\nroot:*:1:0:99999:7:::\n", r.Texts.Shadow);
        Assert.Equal("root:*::", r.Texts.Gshadow); // untouched: not even a final newline added (the writer then leaves it alone)
    }

    private RootedFs Etc(string shadowMode = "640")
    {
        Directory.CreateDirectory(Path.Combine(_root, "etc"));
        File.WriteAllText(Path.Combine(_root, "etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n");
        File.WriteAllText(Path.Combine(_root, "etc/group"), "root:x:0:\nvideo:x:44:\n");
        File.WriteAllText(Path.Combine(_root, "etc/shadow"), "root:*:19000:0:99999:7:::\n");
        File.WriteAllText(Path.Combine(_root, "etc/gshadow"), "root:*::\nvideo:*::\n");
        Tools.Sh($"chmod {shadowMode} '{_root}/etc/shadow' '{_root}/etc/gshadow'; chgrp 42 '{_root}/etc/shadow' '{_root}/etc/gshadow'");
        return new RootedFs(_root);
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void The_writer_keeps_modes_and_owners_makes_backups_and_leaves_no_lock_behind()
    {
        Require.Root();
        using var fs = Etc();
        var notes = new AccountFileWriter(fs, new ProcessRunner()).Write(Batch(new NewGroup("alice", 3001, []), User("alice", 3001, "video")));
        Assert.Empty(notes);
        Assert.Equal("-rw-r----- 0:42", Tools.Sh($"stat -c '%A %u:%g' '{_root}/etc/shadow'").StdOut.Trim());
        Assert.Equal("-rw-r----- 0:42", Tools.Sh($"stat -c '%A %u:%g' '{_root}/etc/gshadow'").StdOut.Trim());
        Assert.Equal("root:*:19000:0:99999:7:::\n", File.ReadAllText(Path.Combine(_root, "etc/shadow-")));
        Assert.Contains("video:x:44:alice\n", File.ReadAllText(Path.Combine(_root, "etc/group")));
        // Only the account files and their backups (no lckpwdf under a prefix, as useradd -P): no FILE.lock, no FILE.PID, no temp file.
        Assert.Equal(["group", "group-", "gshadow", "gshadow-", "passwd", "passwd-", "shadow", "shadow-"],
            Directory.GetFiles(Path.Combine(_root, "etc")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        // What shadow-utils reads back: pwck/grpck see consistent files.
        var pw = Tools.Run("pwck", ["-r", "-R", _root]);
        Assert.DoesNotContain("no matching", pw.StdOut + pw.StdErr);
        var gr = Tools.Run("grpck", ["-r", "-R", _root]);
        Assert.True(gr.ExitCode == 0, gr.ToString());
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_per_file_lock_of_a_live_process_stops_the_write_and_a_stale_one_is_taken_over()
    {
        Require.Root();
        using var fs = Etc();
        File.WriteAllText(Path.Combine(_root, "etc/group.lock"), "1\0"); // pid 1 is always alive
        var busy = Assert.Throws<AicaException>(() => new AccountFileWriter(fs, new ProcessRunner()).Write(Batch(User("alice", 3001))));
        Assert.Equal(ExitCodes.LockBusy, busy.ExitCode);
        Assert.DoesNotContain("alice", File.ReadAllText(Path.Combine(_root, "etc/passwd")));
        Assert.False(File.Exists(Path.Combine(_root, "etc/passwd.lock"))); // what it took, it gave back

        File.WriteAllText(Path.Combine(_root, "etc/group.lock"), "999999999\0"); // no such process
        new AccountFileWriter(fs, new ProcessRunner()).Write(Batch(User("alice", 3001)));
        Assert.Contains("alice", File.ReadAllText(Path.Combine(_root, "etc/passwd")));
        Assert.False(File.Exists(Path.Combine(_root, "etc/group.lock")));
    }

    [Trait("level", "unit")]
    [Fact]
    public void The_lckpwdf_lock_held_elsewhere_makes_the_writer_wait_then_give_up_with_exit_4()
    {
        Require.Root();
        using var fs = Etc();
        using var holder = FileLock.Acquire(fs, AccountFileWriter.PwdLock, TimeSpan.Zero, "test");
        var writer = new AccountFileWriter(fs, new ProcessRunner()) { LockWait = TimeSpan.FromMilliseconds(50), TakePwdLock = true };
        var e = Assert.Throws<AicaException>(() => writer.Write(Batch(User("alice", 3001))));
        Assert.Equal(ExitCodes.LockBusy, e.ExitCode);
        Assert.DoesNotContain("alice", File.ReadAllText(Path.Combine(_root, "etc/passwd")));
    }

    private static AccountState Sample() => new(
        [new StoredUser("alice", 3001, "Al\u00efce,,,", "/bin/zsh", ["gpu-users", "video"], Hash with { Password = "!$6$x$y" })],
        [new StoredGroup("lab", 5000, ["alice", "bob"])]);

    [Trait("level", "unit")]
    [Fact]
    public void The_state_round_trips_and_a_truncated_or_corrupt_file_is_refused_as_a_whole()
    {
        var bytes = Sample().Render();
        var (back, problem) = AccountState.Parse(bytes);
        Assert.Null(problem);
        Assert.Equal("Al\u00efce,,,", back!.User("alice")!.Gecos);
        Assert.Equal("!$6$x$y", back.User("alice")!.Shadow.Password);
        Assert.Equal(bytes, back.Render());

        for (var cut = 1; cut < bytes.Length; cut += 7)
            Assert.NotNull(AccountState.Parse(bytes.AsSpan(0, bytes.Length - cut)).Problem);
        var flipped = (byte[])bytes.Clone();
        var at = L1.GetString(bytes).IndexOf("!$6$", StringComparison.Ordinal);
        flipped[at] = (byte)'$'; // the lock bit gone: exactly what must never be used
        Assert.Contains("checksum", AccountState.Parse(flipped).Problem);
        Assert.NotNull(AccountState.Parse(L1.GetBytes("garbage\n")).Problem);
        Assert.NotNull(AccountState.Parse([]).Problem);
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_stored_file_others_can_read_or_that_is_not_roots_is_refused()
    {
        Require.Root();
        Directory.CreateDirectory(Path.Combine(_root, "data"));
        using var fs = new RootedFs(_root);
        var store = new AccountStore(fs);
        Assert.False(store.Read().Exists);
        Assert.True(store.Write(Sample(), null));
        Assert.Equal("drwx------ -rw-------", Tools.Sh($"stat -c '%A' '{_root}/data/admin/accounts' '{_root}/data/admin/accounts/accounts.state' | paste -sd' '").StdOut.Trim());
        var ok = store.Read();
        Assert.NotNull(ok.State);
        Assert.False(store.Write(ok.State!, ok.Bytes)); // unchanged: not rewritten

        var file = Path.Combine(_root, "data/admin/accounts/accounts.state");
        Tools.Sh($"chmod 644 '{file}'");
        Assert.Contains("readable", store.Read().Refused);
        Assert.Null(store.Read().State);
        Tools.Sh($"chmod 600 '{file}'; chown 12345 '{file}'");
        Assert.Contains("not root", store.Read().Refused);
        Tools.Sh($"chown 0 '{file}'; chmod 777 '{_root}/data/admin/accounts'");
        Assert.NotNull(store.Read().Refused);
        Tools.Sh($"chmod 700 '{_root}/data/admin/accounts'; truncate -s 100 '{file}'");
        Assert.Contains("truncated", store.Read().Refused);
    }

    private static AccountTexts Live(string passwd, string group, string shadow) => new(passwd, group, shadow, null);

    [Trait("level", "unit")]
    [Fact]
    public void A_capture_records_the_registered_users_and_lab_groups_and_forgets_nothing_it_cannot_see()
    {
        var live = Live(
            "root:x:0:0::/root:/bin/bash\nalice:x:3001:3001:Alice:/home/alice:/bin/zsh\nbob:x:3002:3002::/home/bob:/bin/bash\nguest:x:4000:4000::/home/guest:/bin/sh\n",
            "root:x:0:\nvideo:x:44:alice\ngpu-users:x:2500:alice,bob\nalice:x:3001:\nbob:x:3002:\nguest:x:4000:\nlab:x:5000:alice,guest\n",
            "alice:$6$a:20000:0:99999:7:::\nbob:!:20000:0:99999:7:::\n");
        AccountCapture.Registered[] reg = [new("alice", 3001), new("bob", 3002)];
        var s = AccountCapture.Compute(live, reg, "gpu-users", null);
        Assert.Equal(["alice", "bob"], s.Users.Select(u => u.Name));
        Assert.Equal(["gpu-users", "lab", "video"], s.User("alice")!.Groups);
        Assert.Equal("$6$a", s.User("alice")!.Shadow.Password);
        Assert.Equal(("Alice", "/bin/zsh"), (s.User("alice")!.Gecos, s.User("alice")!.Shell));
        // Lab groups: not the shared group, not a private group (a registered user's or anyone's).
        Assert.Equal(["lab"], s.Groups.Select(g => g.Name));
        Assert.Equal(["alice", "guest"], s.Groups[0].Members);

        // After a full reset, before recover: accounts and the lab group are gone; nothing stored is forgotten.
        var reset = Live("root:x:0:0::/root:/bin/bash\n", "root:x:0:\nvideo:x:44:\n", "");
        var kept = AccountCapture.Compute(reset, reg, "gpu-users", s);
        Assert.Equal(s.Render(), kept.Render());

        // Everyone present, the image lost video and the admin deleted lab: video stays stored, lab goes.
        var noVideo = Live(live.Passwd, "root:x:0:\ngpu-users:x:2500:alice,bob\nalice:x:3001:\nbob:x:3002:\n", live.Shadow);
        var after = AccountCapture.Compute(noVideo, reg, "gpu-users", s);
        Assert.Equal(["gpu-users", "video"], after.User("alice")!.Groups);
        Assert.Empty(after.Groups);

        var diffs = AccountCapture.Differences(s, AccountCapture.Compute(live with { Shadow = "alice:!$6$a:20000:0:99999:7:::\nbob:!:20000:0:99999:7:::\n" }, reg, "gpu-users", s));
        Assert.Equal(["alice: locked"], diffs);
    }

    [Trait("level", "unit")]
    [Fact]
    public async Task Recover_creates_missing_accounts_in_one_write_with_their_stored_state_and_a_second_run_does_nothing()
    {
        Require.Root();
        using var fs = Etc();
        var runner = new CountingRunner();
        var ctx = new EngineContext(fs, runner, new Clock()).WithAccountService(new AccountService(fs, runner), batch: true);
        var stored = new StoredUser("u1", 3001, "U One", "/bin/zsh", ["video"], Hash);
        var units = new List<Unit> { new(Phase.Group, "group", null, [new GroupItem("gpu-users", 2500)]) };
        for (var i = 0; i < 50; i++)
        {
            var n = $"u{i}";
            units.Add(new Unit(Phase.Accounts, $"user {n}", n,
                [new GroupItem(n, 3000 + i, "user.group"), new AccountItem(n, 3000 + i, 3000 + i, "/bin/bash", $"/home/{n}", "gpu-users", i == 1 ? stored : null)]));
        }
        var state = new DesiredState(units, []);
        var engine = new StateEngine(ctx);
        var first = await engine.Apply(state, TestContext.Current.CancellationToken);
        Assert.False(first.AnyFailed, string.Join("; ", first.Actions.Select(a => a.Error)));
        Assert.Equal(101, first.Actions.Count);
        Assert.Equal(0, runner.Calls); // no groupadd, no useradd
        var shadow = File.ReadAllText(Path.Combine(_root, "etc/shadow"));
        Assert.Contains("u1:$6$salt$abc:20000:0:99999:7:::\n", shadow);
        Assert.Matches(@"\nu0:!:\d+:0:99999:7:::\n", shadow); // no stored state: locked, as useradd makes it
        Assert.Contains("u1:x:3001:3001:U One:/home/u1:/bin/zsh\n", File.ReadAllText(Path.Combine(_root, "etc/passwd")));
        Assert.Contains("video:x:44:u1\n", File.ReadAllText(Path.Combine(_root, "etc/group")));
        Assert.Empty((await engine.Apply(state, TestContext.Current.CancellationToken)).Actions);
        Assert.All(engine.Check(state), c => Assert.Equal(CheckStatus.Pass, c.Status));
    }

    /// <summary>
    /// A full reset with more registered users than the unit may open descriptors (systemd's soft limit, 1024): one run
    /// recovers them all, and the steady run after it too.
    /// </summary>
    [Trait("level", "blackbox")]
    [Fact]
    public void A_full_reset_of_1100_users_recovers_all_in_one_run_within_1024_descriptors_and_doctor_passes()
    {
        using var sb = Sandbox.Initialised();
        File.AppendAllLines(sb.P("/data/config/users.txt"), Enumerable.Range(0, 1100).Select(i => $"m{i}:gpu-users:{4000 + i}:{4000 + i}:/bin/bash:symlink"));
        RunResult Limited(string cmd) => Tools.Sh($"ulimit -n 1024; '{Tools.AicaBin}' --root '{sb.Root}' {cmd} -q");
        var r = Limited("recover");
        Assert.True(r.ExitCode == 0, r.ToString()[..Math.Min(2000, r.ToString().Length)]);
        Assert.Contains("recovered 1100 users, 0 failed", r.StdOut);
        var steady = Limited("recover");
        Assert.True(steady.ExitCode == 0, steady.ToString()[..Math.Min(2000, steady.ToString().Length)]);
        Assert.True(r.ExitCode == 0, r.ToString()[..Math.Min(2000, r.ToString().Length)]);
        Assert.Contains("recovered 1100 users, 0 failed", r.StdOut);
        Assert.Equal(1100, File.ReadLines(sb.P("/etc/passwd")).Count(l => l.StartsWith('m')));
        var doc = Limited("doctor");
        Assert.True(doc.ExitCode == 0, doc.ToString()[..Math.Min(2000, doc.ToString().Length)]);
    }

    private sealed class CountingRunner : ProcessRunner
    {
        public int Calls;
        public override Task<ProcessResult> RunAsync(string program, IEnumerable<string> args, CancellationToken ct = default,
            IReadOnlyDictionary<string, string?>? env = null, string? stdin = null)
        {
            Calls++;
            return base.RunAsync(program, args, ct, env, stdin);
        }
    }
}
