using Aica.Site;
using System.Runtime.InteropServices;
using Aica.Config;
using Aica.Engine;
using Aica.Fleet;
using Aica.IO;
using Aica.Services;
using Aica.Tests.Infra;

namespace Aica.Tests.Fleet;

/// <summary>
/// issue 14 point 4: doctor's shared-storage checks, each driven by a mountinfo fixture (this machine's kernel has no NFS
/// client, so no real NFS mount can be made here). The server is a folder for --root; the fixture mounts its /data.
/// </summary>
[Trait("level", "unit")]
public sealed class SharedStorageSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("aica-storage-").FullName;
    private string Fixture => Path.Combine(_root, "mountinfo");

    public SharedStorageSpecs()
    {
        foreach (var d in new[] { "etc", "data/admin", "data/users/alice", "var/lib/nfs" }) Directory.CreateDirectory(Path.Combine(_root, d));
        File.WriteAllText(Path.Combine(_root, "etc/passwd"), "root:x:0:0:root:/root:/bin/bash\nalice:x:3001:3001::/home/alice:/bin/bash\nbob:x:3002:3002::/home/bob:/bin/bash\n");
        File.WriteAllText(Path.Combine(_root, "etc/group"), "root:x:0:\ngpu-users:x:2000:alice,bob\nalice:x:3001:\nbob:x:3002:\n");
    }

    public void Dispose()
    {
        Tools.Sh($"chattr -i -R '{_root}' 2>/dev/null; rm -rf --one-file-system '{_root}'");
    }

    private const string RootLine = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro";

    private static string Nfs4(string root, string opts = "") =>
        $"40 22 0:52 / {root}/data rw,relatime shared:40 - nfs4 nas:/export/data rw,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,timeo=600,retrans=2,sec=sys,clientaddr=10.0.0.11,local_lock=none,addr=10.0.0.2{opts}";

    private static string Nfs3(string root, string lockOpts = ",local_lock=none") =>
        $"40 22 0:52 / {root}/data rw,relatime shared:40 - nfs nas:/export/data rw,vers=3,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,timeo=600,retrans=2,sec=sys,mountaddr=10.0.0.2,mountvers=3,mountport=20048,mountproto=udp{lockOpts},addr=10.0.0.2";

    private List<CheckResult> Checks(string mountinfo, int? chownErrno = 0)
    {
        File.WriteAllText(Fixture, mountinfo + "\n");
        using var s = new AicaServices(new GlobalOptions(Root: _root));
        return new SharedStorageChecks(Fixture) { ChownProbe = _ => chownErrno }.Run(s, new AicaConfig()).ToList();
    }

    private static CheckResult One(List<CheckResult> checks, string id) =>
        checks.SingleOrDefault(c => c.Id == id) ?? throw new Xunit.Sdk.XunitException($"no {id} in: {string.Join("; ", checks.Select(c => c.Id))}");

    [Fact]
    public void A_local_data_disk_gets_one_pass_and_no_nfs_checks()
    {
        var checks = Checks($"{RootLine}\n41 22 8:17 / {_root}/data rw,relatime shared:41 - ext4 /dev/sdb1 rw");
        var c = Assert.Single(checks);
        Assert.Equal(("storage.shared", CheckStatus.Pass), (c.Id, c.Status));
        Assert.Contains("ext4 (/dev/sdb1), not NFS", c.Summary);
    }

    [Fact]
    public void Nfs4_with_default_options_passes_every_check()
    {
        var checks = Checks($"{RootLine}\n{Nfs4(_root)}");
        Assert.All(checks, c => Assert.Equal(CheckStatus.Pass, c.Status));
        Assert.Equal(["storage.shared", "storage.nfs-lock", "storage.root-squash", "storage.idmap", "storage.sys-groups"], checks.Select(c => c.Id));
        Assert.Contains("NFSv4.2 from nas:/export/data, sec=sys", checks[0].Summary);
    }

    [Theory]
    [InlineData(",nolock,local_lock=all", "nolock")]
    [InlineData(",local_lock=posix", "local_lock=posix")]
    [InlineData(",local_lock=all", "local_lock=all")]
    public void Nfs_without_cross_node_locking_fails(string lockOpts, string named)
    {
        var c = One(Checks($"{RootLine}\n{Nfs3(_root, lockOpts)}"), "storage.nfs-lock");
        Assert.Equal(CheckStatus.Fail, c.Status);
        Assert.Contains($"mounted with {named}", c.Summary);
        Assert.Contains("two nodes can write the registry", c.Summary);
    }

    [Fact]
    public void Local_flock_locks_still_pass_because_the_shared_lock_is_an_fcntl_lock()
    {
        var c = One(Checks($"{RootLine}\n{Nfs4(_root).Replace("local_lock=none", "local_lock=flock")}"), "storage.nfs-lock");
        Assert.Equal(CheckStatus.Pass, c.Status);
    }

    [Fact]
    public void Root_squash_fails_naming_what_breaks()
    {
        var c = One(Checks($"{RootLine}\n{Nfs4(_root)}", chownErrno: Native.Flags.EPERM), "storage.root-squash");
        Assert.Equal(CheckStatus.Fail, c.Status);
        Assert.Contains("root cannot chown files on /data", c.Summary);
        Assert.Contains("user add cannot give members their /data/users folders", c.Summary);
        Assert.Contains("no_root_squash", c.Fix);
        // Squashed to nobody in a root-owned folder: root cannot even create the probe.
        Assert.Contains("root cannot create files", One(Checks($"{RootLine}\n{Nfs4(_root)}", chownErrno: Native.Flags.EACCES), "storage.root-squash").Summary);
    }

    [Fact]
    public void Nfs4_files_shown_as_nobody_fail_with_the_configured_idmap_domain()
    {
        File.WriteAllText(Path.Combine(_root, "etc/idmapd.conf"), "[General]\nVerbosity = 0\nDomain = node.lab\n\n[Mapping]\nNobody-User = nobody\n");
        Assert.Equal(0, Tools.Sh($"chown 4294967294:4294967294 '{_root}/data/users/alice'").ExitCode);
        var c = One(Checks($"{RootLine}\n{Nfs4(_root)}"), "storage.idmap");
        Assert.Equal(CheckStatus.Fail, c.Status);
        Assert.Contains("1 path(s) on /data show as nobody", c.Summary);
        Assert.Contains("idmap domain is node.lab", c.Summary);
        Assert.Contains("/data/users/alice (4294967294:4294967294)", c.Details);
        Assert.Contains("Domain =", c.Fix);
        Tools.Sh($"chown 65534:3001 '{_root}/data/users/alice'");
        Assert.Equal(CheckStatus.Fail, One(Checks($"{RootLine}\n{Nfs4(_root)}"), "storage.idmap").Status);
    }

    [Fact]
    public void Idmapd_domain_is_read_from_the_general_section_only()
    {
        Assert.Equal("lab.example", SharedStorageChecks.ConfiguredDomain("# c\n[General]\n  domain = lab.example \n[Translation]\nDomain = other\n"));
        Assert.Null(SharedStorageChecks.ConfiguredDomain("[Mapping]\nDomain = other\n"));
        Assert.Null(SharedStorageChecks.ConfiguredDomain(null));
    }

    [Fact]
    public void Nfs3_with_statd_state_on_the_reset_root_warns_and_on_a_kept_disk_passes()
    {
        var c = One(Checks($"{RootLine}\n{Nfs3(_root)}"), "storage.nfs-statd");
        Assert.Equal(CheckStatus.Warn, c.Status);
        Assert.Contains("/var/lib/nfs", c.Summary);
        Assert.Contains("after a crash the server is never told this node rebooted", c.Summary);
        var kept = One(Checks($"{RootLine}\n{Nfs3(_root)}\n45 22 8:33 /nfs-state {_root}/var/lib/nfs rw - ext4 /dev/sdc1 rw"), "storage.nfs-statd");
        Assert.Equal(CheckStatus.Pass, kept.Status);
        // With nolock there is no statd state to lose (the lock check fails instead); NFSv4 needs no statd.
        Assert.DoesNotContain(Checks($"{RootLine}\n{Nfs3(_root, ",nolock,local_lock=all")}"), x => x.Id == "storage.nfs-statd");
        Assert.DoesNotContain(Checks($"{RootLine}\n{Nfs4(_root)}"), x => x.Id == "storage.nfs-statd");
    }

    [Fact]
    public void Members_in_more_than_16_groups_warn_under_sec_sys_only()
    {
        var extra = string.Join("", Enumerable.Range(0, 16).Select(i => $"proj{i}:x:{4000 + i}:alice\n"));
        File.AppendAllText(Path.Combine(_root, "etc/group"), extra);
        var c = One(Checks($"{RootLine}\n{Nfs4(_root)}"), "storage.sys-groups");
        Assert.Equal(CheckStatus.Warn, c.Status);
        Assert.Equal("alice (18)", c.Details); // primary alice, gpu-users and 16 project groups; bob has 2
        Assert.Contains("--manage-gids", c.Fix);
        Assert.DoesNotContain(Checks($"{RootLine}\n{Nfs4(_root).Replace("sec=sys", "sec=krb5p")}"), x => x.Id == "storage.sys-groups");
    }

    [Fact]
    public void The_mount_holding_data_is_the_longest_match_and_escaped_names_are_decoded()
    {
        var t = MountTable.Parse($"{RootLine}\n50 22 0:60 / /srv/my\\040data rw shared:9 - nfs4 nas:/x rw,vers=4.1,sec=krb5\n51 22 0:61 / /srv/my\\040data/sub rw - tmpfs tmpfs rw\n");
        Assert.Equal("nfs4", t.Containing("/srv/my data/users")!.FsType);
        Assert.Equal("tmpfs", t.Containing("/srv/my data/sub/x")!.FsType);
        Assert.Equal("ext4", t.Containing("/srv/my datax")!.FsType);
        Assert.Equal("krb5", t.Containing("/srv/my data")!.Option("sec"));
        Assert.Equal(4, t.Containing("/srv/my data")!.NfsMajor);
    }

    [Fact]
    public void The_real_probe_sees_EPERM_when_root_has_no_chown_capability_and_leaves_no_file()
    {
        Require.Root();
        Directory.CreateDirectory(Path.Combine(_root, "data/admin"));
        using var s = new AicaServices(new GlobalOptions(Root: _root));
        Assert.Equal(0, SharedStorageChecks.RootChownProbe(s));
        // What root_squash does to root's chown, made here by dropping CAP_CHOWN from one thread's effective set.
        int? squashed = null;
        var t = new Thread(() =>
        {
            Capabilities.DropEffective(Capabilities.CapChown);
            squashed = SharedStorageChecks.RootChownProbe(s);
        });
        t.Start();
        t.Join();
        Assert.Equal(Native.Flags.EPERM, squashed);
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_root, "data/admin")));
    }
}

/// <summary>capget/capset for one thread (capabilities are per thread on Linux): drops a capability from its effective set.</summary>
internal static partial class Capabilities
{
    public const int CapChown = 0;
    private const uint Version3 = 0x20080522;

    [StructLayout(LayoutKind.Sequential)]
    private struct Header { public uint Version; public int Pid; }

    [StructLayout(LayoutKind.Sequential)]
    private struct Data { public uint Effective, Permitted, Inheritable; }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int capget(ref Header h, [In, Out] Data[] d);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int capset(ref Header h, [In] Data[] d);

    public static void DropEffective(int cap)
    {
        var h = new Header { Version = Version3, Pid = 0 };
        var d = new Data[2];
        if (capget(ref h, d) != 0) throw new InvalidOperationException($"capget: errno {Marshal.GetLastPInvokeError()}");
        d[cap / 32].Effective &= ~(1u << (cap % 32));
        if (capset(ref h, d) != 0) throw new InvalidOperationException($"capset: errno {Marshal.GetLastPInvokeError()}");
    }
}
