using Aica.Accounts;
using Aica.Config;
using Aica.Engine;
using Aica.IO;
using Aica.Native;

using Aica.Site;

namespace Aica.Fleet;

/// <summary>
/// Doctor checks for a /data shared by several nodes over NFS: the mount options that break cross-node locking, a root
/// that cannot chown (root_squash), NFSv4 ids that map to nobody, NFSv3 lock state on a disk the node resets, and the
/// 16-group limit of sec=sys. The mount table is read from <paramref name="mountInfoPath"/> (a fixture in tests).
/// </summary>
public sealed class SharedStorageChecks(string mountInfoPath = MountTable.ProcPath)
{
    /// <summary>AUTH_SYS (sec=sys) carries at most this many groups per request (RFC 5531).</summary>
    public const int SysGroupLimit = 16;

    /// <summary>The uids and gids an NFSv4 client shows for an owner it cannot map (nobody, and (uint)-2).</summary>
    public static readonly uint[] UnmappedIds = [65534, 4294967294];

    public const string IdmapdConf = "/etc/idmapd.conf";

    /// <summary>The root-squash probe (errno of root's chown on /data; null when it cannot run). Replaceable in tests.</summary>
    public Func<AicaServices, int?> ChownProbe { get; init; } = RootChownProbe;

    public IEnumerable<CheckResult> Run(AicaServices s, AicaConfig config)
    {
        var table = MountTable.Read(mountInfoPath);
        var mount = table.Containing(s.Fs.Host("/data"));
        if (mount is null)
        {
            yield return new CheckResult("storage.shared", CheckStatus.Pass, $"no mount table at {mountInfoPath}: shared-storage checks skipped");
            yield break;
        }
        if (!mount.IsNfs)
        {
            yield return new CheckResult("storage.shared", CheckStatus.Pass, $"/data is {mount.FsType} ({mount.Source}), not NFS: no shared-storage checks apply");
            yield break;
        }
        var v = mount.NfsMajor;
        var sec = mount.Option("sec") ?? "sys";
        yield return new CheckResult("storage.shared", CheckStatus.Pass, $"/data is NFSv{mount.Option("vers") ?? v.ToString()} from {mount.Source}, sec={sec}");
        yield return Locking(mount);
        if (Sys.Euid == 0) yield return RootSquash(s, mount);
        if (v >= 4) yield return IdMapping(s);
        else if (mount.Option("nolock") is null) yield return StatdState(s, table);
        if (sec == "sys") yield return SysGroups(s, config);
    }

    /// <summary>nolock, local_lock=all or =posix keep fcntl locks on this node: the shared registry lock then locks nothing.</summary>
    private static CheckResult Locking(MountEntry m)
    {
        const string id = "storage.nfs-lock";
        var local = m.Option("local_lock");
        var why = m.Option("nolock") is not null ? "nolock" : local is "all" or "posix" ? $"local_lock={local}" : null;
        if (why is not null)
            return new CheckResult(id, CheckStatus.Fail,
                $"/data is mounted with {why}: fcntl locks stay on this node, so two nodes can write the registry and config at the same time and lose a user",
                Fix: "drop nolock/local_lock from the /data mount options (/etc/fstab) on every node; NFSv3 also needs rpc.statd running (or mount with vers=4.2)");
        return new CheckResult(id, CheckStatus.Pass, $"fcntl locks on /data reach the NFS server (local_lock={local ?? "none"})");
    }

    private CheckResult RootSquash(AicaServices s, MountEntry m)
    {
        const string id = "storage.root-squash";
        var errno = ChownProbe(s);
        if (errno is Flags.EPERM or Flags.EACCES)
            return new CheckResult(id, CheckStatus.Fail,
                $"root cannot {(errno == Flags.EPERM ? "chown" : "create")} files on /data ({m.Source} is exported with root_squash): init, recover and user add cannot give members their /data/users folders, user fix and perms cannot repair owners, and root-owned files (registry, binary) become nobody's",
                Fix: "export /data with no_root_squash to the GPU nodes only (/etc/exports: /data node1(rw,no_root_squash) ...), or run the aica commands that change /data on the NFS server");
        if (errno is null) return new CheckResult(id, CheckStatus.Pass, "root_squash not probed (/data/admin missing or read-only)");
        if (errno != 0) return new CheckResult(id, CheckStatus.Warn, $"root's chown probe on /data failed: {Sys.StrError(errno.Value)}", Fix: "check the /data mount and export");
        return new CheckResult(id, CheckStatus.Pass, "root can chown on /data (no root_squash)");
    }

    /// <summary>
    /// Creates a temporary file as root in /data/admin (or /data), chowns it to uid/gid 1 and removes it: 0 when the
    /// chown worked, else the errno (EPERM: root is squashed; EACCES at create: root is nobody there).
    /// </summary>
    public static int? RootChownProbe(AicaServices s)
    {
        var dir = s.Fs.Lstat("/data/admin") is { IsDir: true } ? "/data/admin" : "/data";
        using var dfd = s.Fs.TryOpenDir(dir, out var derr);
        if (dfd is null) return derr == Flags.EACCES ? derr : null;
        var name = Sys.Z($".aica-chown-probe.{Environment.ProcessId}");
        using var fd = Sys.TryOpenAt(dfd.Fd, name, Flags.O_WRONLY | Flags.O_CREAT | Flags.O_EXCL | Flags.O_NOFOLLOW, out var oerr);
        if (fd is null) return oerr is Flags.EROFS or Flags.EEXIST ? null : oerr;
        try
        {
            return Sys.TryFchownPath(fd, 1, 1);
        }
        finally
        {
            try { Sys.UnlinkAt(dfd.Fd, name, false, $"{s.Fs.Host(dir)}/.aica-chown-probe"); }
            catch (SysException) { }
        }
    }

    /// <summary>NFSv4 names owners user@domain: when the client's domain differs from the server's, every file shows as nobody.</summary>
    private CheckResult IdMapping(AicaServices s)
    {
        const string id = "storage.idmap";
        var domain = ConfiguredDomain(s.Fs.ReadText(IdmapdConf));
        if (domain is null && s.Runner.Which("nfsidmap") is { } nfsidmap && s.Runner.Run(nfsidmap, "-d") is { Ok: true } r)
            domain = r.StdOut.Trim() + " (nfsidmap -d: the DNS domain, no Domain in /etc/idmapd.conf)";
        domain ??= "unset (no Domain in /etc/idmapd.conf: the DNS domain is used)";
        var nobody = NobodyOwned(s);
        if (nobody.Total > 0)
            return new CheckResult(id, CheckStatus.Fail,
                $"{nobody.Total} path(s) on /data show as nobody (uid/gid 65534 or 4294967294): NFSv4 id mapping fails, members lose access to their files; this node's idmap domain is {domain}",
                nobody.Join("; "),
                "set the same Domain = in /etc/idmapd.conf on the server and every node (then nfsidmap -c), or turn id mapping off for sec=sys (nfs4_disable_idmapping) so numeric ids pass through");
        return new CheckResult(id, CheckStatus.Pass, $"NFSv4 ids map (idmap domain {domain}); nothing on /data shows as nobody");
    }

    /// <summary>The Domain of the [General] section of idmapd.conf; null when not set.</summary>
    public static string? ConfiguredDomain(string? conf)
    {
        if (conf is null) return null;
        var section = "general";
        foreach (var raw in conf.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';') continue;
            if (line[0] == '[') { section = line.Trim('[', ']').Trim().ToLowerInvariant(); continue; }
            var eq = line.IndexOf('=');
            if (section == "general" && eq > 0 && line[..eq].Trim().Equals("Domain", StringComparison.OrdinalIgnoreCase))
                return line[(eq + 1)..].Trim();
        }
        return null;
    }

    /// <summary>The top of /data and each user's folder (one stat each, never a walk) whose owner or group is unmapped.</summary>
    private static CappedList NobodyOwned(AicaServices s)
    {
        var found = new CappedList();
        void Look(string p)
        {
            if (s.Fs.Lstat(p) is { } st && (UnmappedIds.Contains(st.Uid) || UnmappedIds.Contains(st.Gid))) found.Add($"{p} ({st.Uid}:{st.Gid})");
        }
        foreach (var p in new[] { "/data", "/data/admin", "/data/users", AicaConfig.RegistryPath }) Look(p);
        using var users = s.Fs.TryOpenDir("/data/users", out _);
        if (users is not null)
            foreach (var e in Sys.ReadDir(users, "/data/users")) Look($"/data/users/{SafeOps.Escape(e.Name)}");
        return found;
    }

    /// <summary>NFSv3 locks are recovered through statd's state in /var/lib/nfs: on a disk the node resets, a crash leaves them held.</summary>
    private static CheckResult StatdState(AicaServices s, MountTable table)
    {
        const string id = "storage.nfs-statd";
        var state = table.Containing(s.Fs.Host("/var/lib/nfs"));
        var root = table.Containing(s.Fs.Host("/"));
        var volatileFs = state is null || state.FsType is "tmpfs" or "overlay" || ReferenceEquals(state, root);
        if (volatileFs)
            return new CheckResult(id, CheckStatus.Warn,
                $"NFSv3 with locking, and /var/lib/nfs (statd's list of servers holding this node's locks) is on {state?.FsType ?? "?"} at {state?.MountPoint ?? "?"}, which a reset wipes: after a crash the server is never told this node rebooted, and the shared registry lock it held stays taken until the server drops it by hand",
                Fix: "keep /var/lib/nfs on storage that survives a reset (a bind mount of a per-node folder, mounted before rpc-statd starts), or mount /data with vers=4.2 (no statd)");
        return new CheckResult(id, CheckStatus.Pass, $"/var/lib/nfs is on {state!.FsType} at {state.MountPoint} (survives a reset): NFSv3 lock recovery works after a crash");
    }

    /// <summary>Members whose groups (primary included) exceed what AUTH_SYS carries: the server sees only the first 16.</summary>
    private static CheckResult SysGroups(AicaServices s, AicaConfig config)
    {
        const string id = "storage.sys-groups";
        var db = s.Accounts.Load();
        var over = new List<string>();
        foreach (var name in db.MembersOf(config.Group).Distinct().OrderBy(n => n, StringComparer.Ordinal))
        {
            var gids = new HashSet<int>();
            if (db.User(name) is { } u) gids.Add(u.Gid);
            foreach (var g in db.Groups) if (g.Members.Contains(name)) gids.Add(g.Gid);
            if (gids.Count > SysGroupLimit) over.Add($"{name} ({gids.Count})");
        }
        return over.Count == 0
            ? new CheckResult(id, CheckStatus.Pass, $"every member of {config.Group} is in at most {SysGroupLimit} groups (the sec=sys limit)")
            : new CheckResult(id, CheckStatus.Warn,
                $"{over.Count} member(s) in more than {SysGroupLimit} groups: over sec=sys the NFS server sees only {SysGroupLimit} of them, so access granted through the others is denied on /data",
                string.Join(", ", over),
                "rpc.mountd --manage-gids on the NFS server (it looks the groups up itself; needs the same accounts there), or fewer groups per member, or sec=krb5");
    }
}
