using Aica.Engine;
using Aica.IO;
using Aica.Native;
using Aica.Tests.Infra;

namespace Aica.Tests.Engine;

/// <summary>
/// Recover and doctor skip reading rc files found current by the last recover while their identity (inode, size,
/// change time) is the same: every edit, even one that keeps the size, is still seen, and a record that is not root's
/// alone is never trusted.
/// </summary>
public sealed class VerifiedFilesSpecs
{
    private static Sandbox Server()
    {
        var sb = Sandbox.WithUsers("alice", "bob");
        Assert.Equal(0, sb.Aica("recover", "-q").ExitCode);
        return sb;
    }

    /// <summary>The same bytes count with aica's block replaced by a user's line of the same length.</summary>
    private static void ReplaceBlockKeepingSize(string file)
    {
        var text = File.ReadAllText(file);
        var from = text.IndexOf(Aica.Users.ManagedBlockItem.Begin, StringComparison.Ordinal);
        var to = text.IndexOf(Aica.Users.ManagedBlockItem.End, StringComparison.Ordinal) + Aica.Users.ManagedBlockItem.End.Length;
        var edited = text[..from] + "#" + new string('x', to - from - 1) + text[to..];
        Assert.Equal(text.Length, edited.Length);
        File.WriteAllText(file, edited);
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void An_edit_that_keeps_the_size_after_a_recover_is_seen_by_doctor_and_repaired_by_the_next_recover()
    {
        using var sb = Server();
        Assert.Equal(0, sb.Aica("recover", "-q").ExitCode); // the second run reads the record the first one wrote
        Assert.Contains("/data/users/alice/.profile", File.ReadAllText(sb.P(VerifiedFiles.Path)));
        ReplaceBlockKeepingSize(sb.P("/data/users/alice/.profile"));

        var doctor = sb.Aica("doctor");
        Assert.Equal(1, doctor.ExitCode);
        Assert.Contains("/data/users/alice/.profile lacks aica's current block", doctor.All);
        Assert.DoesNotContain("/data/users/bob/.profile", doctor.All);

        Assert.Equal(0, sb.Aica("recover", "-q").ExitCode);
        Assert.Contains(Aica.Users.ManagedBlockItem.Begin, File.ReadAllText(sb.P("/data/users/alice/.profile")));
        Assert.Equal(0, sb.Aica("doctor", "-q").ExitCode);
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void A_record_others_can_write_is_ignored_and_a_forged_entry_never_hides_a_missing_block()
    {
        using var sb = Server();
        var profile = sb.P("/data/users/alice/.profile");
        ReplaceBlockKeepingSize(profile);
        // A forged record claiming the edited file is current: its true identity, world-writable record file.
        var st = File.ResolveLinkTarget(profile, false) is null ? Stat(profile) : throw new InvalidOperationException();
        var key = new Aica.Users.ManagedBlock(Aica.Users.UserHome.ShellBlock(Aica.Config.AicaConfig.Parse(File.ReadAllText(sb.P(Aica.Config.AicaConfig.ConfigPath))))).Key;
        var record = sb.P(VerifiedFiles.Path);
        File.WriteAllText(record, $"{st.Dev} {st.Ino} {st.Size} {st.CtimeSec} {st.CtimeNsec} {key:x} /data/users/alice/.profile\n");
        File.SetUnixFileMode(record, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherWrite | UnixFileMode.OtherRead);

        Assert.Contains("/data/users/alice/.profile lacks aica's current block", sb.Aica("doctor").All);
        Assert.Equal(0, sb.Aica("recover", "-q").ExitCode);
        Assert.Contains(Aica.Users.ManagedBlockItem.Begin, File.ReadAllText(profile));
        Assert.Equal("-rw-------", Tools.Sh($"stat -c %A '{record}'").StdOut.Trim()); // rewritten root's alone
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void A_link_into_a_system_path_planted_after_a_clean_scan_is_still_reported()
    {
        using var sb = Server();
        Assert.Equal(0, sb.Aica("recover", "-q").ExitCode);
        Assert.Contains(" /data/users/alice\n", File.ReadAllText(sb.P(VerifiedFiles.Path))); // scanned clean, recorded
        File.CreateSymbolicLink(sb.P("/data/users/alice/shadow"), "/etc/shadow");
        var doctor = sb.Aica("doctor");
        Assert.Contains("alice tampered: /data/users/alice/shadow -> /etc/shadow", doctor.All);
        Assert.Contains("alice tampered", sb.Aica("recover").All);
        Assert.DoesNotContain("bob tampered", doctor.All);
    }

    [Trait("level", "unit")]
    [Fact]
    public void An_identity_matches_only_with_the_same_inode_size_change_time_and_wanted_content()
    {
        Require.Root();
        var dir = Directory.CreateTempSubdirectory("aica-verified-").FullName;
        try
        {
            using var fs = new RootedFs(dir);
            Directory.CreateDirectory(Path.Combine(dir, "run/aica"));
            File.WriteAllText(Path.Combine(dir, "f"), "block\n");
            var v = VerifiedFiles.Load(fs);
            Assert.True(v.Enabled);
            var st = fs.Lstat("/f")!.Value;
            Assert.False(v.IsVerified("/f", 7, st));
            v.Record("/f", 7, st);
            Assert.True(v.IsVerified("/f", 7, st));
            Assert.False(v.IsVerified("/f", 8, st)); // another block wanted (the config changed)
            Assert.False(v.IsVerified("/f", 7, st with { CtimeNsec = st.CtimeNsec + 1 }));
            Assert.False(v.IsVerified("/f", 7, st with { Ino = st.Ino + 1 }));
            Assert.False(v.IsVerified("/f", 7, st with { Size = st.Size + 1 }));
            Assert.False(v.IsVerified("/g", 7, st));
            v.Save(fs);
            var again = VerifiedFiles.Load(fs);
            Assert.True(again.IsVerified("/f", 7, st));
            Assert.False(VerifiedFiles.None.IsVerified("/f", 7, st));
            // Read-only (doctor): records nothing.
            var ro = VerifiedFiles.Load(fs).ReadOnly();
            ro.Record("/h", 1, st);
            Assert.False(ro.IsVerified("/h", 1, st));
        }
        finally { Directory.Delete(dir, true); }
    }

    private static FileStat Stat(string hostPath)
    {
        using var fs = new RootedFs("/");
        return fs.Lstat(hostPath)!.Value;
    }
}

/// <summary>
/// A generated file (the man page, the completions) is rendered only when it must be read or written: found current by
/// a run of the same binary and unchanged since, it costs one lstat, and any edit has it rendered and compared again.
/// </summary>
[Trait("level", "unit")]
public sealed class GeneratedFileSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("aica-generated-").FullName;
    private readonly RootedFs _fs;
    private int _renders;

    public GeneratedFileSpecs()
    {
        Require.Root();
        _fs = new RootedFs(_root);
    }

    public void Dispose()
    {
        _fs.Dispose();
        Tools.Sh($"rm -rf --one-file-system '{_root}'");
    }

    /// <summary>One run: a fresh item (as each run builds its state) checked, and applied when it drifted, with the record saved.</summary>
    private Drift? Run(ulong binaryKey)
    {
        var ctx = new EngineContext(_fs, new ProcessRunner(), new Clock()) { Verified = VerifiedFiles.Load(_fs) };
        var item = new FileItem(new GeneratedFile("/usr/share/man/aica.8", () => { _renders++; return ".TH AICA 8\n"; }, binaryKey, "manual.page", "/usr/share/man"), Perms.O(644));
        var drift = item.Check(ctx);
        if (drift is not null) item.Apply(ctx, drift, TestContext.Current.CancellationToken).GetAwaiter().GetResult();
        ctx.Verified.Save(_fs);
        return drift;
    }

    [Fact]
    public void A_steady_run_of_the_same_binary_does_not_render_and_an_edit_or_another_binary_does()
    {
        Assert.NotNull(Run(binaryKey: 1)); // missing: rendered and written
        Assert.Null(Run(binaryKey: 1)); // read, compared and recorded
        var rendered = _renders;
        Assert.Null(Run(binaryKey: 1));
        Assert.Null(Run(binaryKey: 1));
        Assert.Equal(rendered, _renders); // current by its record: never rendered again

        File.WriteAllText(Path.Combine(_root, "usr/share/man/aica.8"), ".TH XXXX 8\n"); // same size, other bytes
        Assert.NotNull(Run(binaryKey: 1));
        Assert.Equal(".TH AICA 8\n", File.ReadAllText(Path.Combine(_root, "usr/share/man/aica.8")));

        rendered = _renders;
        Assert.Null(Run(binaryKey: 2)); // another binary: rendered and compared again
        Assert.True(_renders > rendered);
    }
}
