using System.Security.Cryptography;
using System.Text;
using Aica.Config;
using Aica.IO;
using Aica.Native;
using Aica.Site;
using static Aica.Native.Perms;

namespace Aica.Integration;

/// <summary>A shared tool aica installs from a local installer file (it never downloads: SPEC §7).</summary>
public sealed record InstallTool(string Name, string Where, string VersionProgram, string VersionPrefix)
{
    public static readonly InstallTool Miniconda = new("miniconda",
        "https://repo.anaconda.com/miniconda/ (Miniconda3-latest-Linux-x86_64.sh, or -Linux-aarch64.sh on ARM)", "bin/conda", "conda ");
    public static readonly InstallTool Uv = new("uv",
        "https://github.com/astral-sh/uv/releases (uv-x86_64-unknown-linux-gnu.tar.gz, or uv-aarch64-unknown-linux-gnu.tar.gz on ARM)", "uv", "uv ");

    public static InstallTool? Find(string name) => name switch { "miniconda" => Miniconda, "uv" => Uv, _ => null };
}

public sealed record InstallOptions(InstallTool Tool, string? From, bool DryRun, string? Sha256 = null);

public sealed record InstallResult(string Tool, string Prefix, string From, string Sha256, string Status, string? Version,
    IReadOnlyList<string> Steps, string? Previous, string? Error)
{
    public int ExitCode => Status is "failed" ? ExitCodes.Failed : ExitCodes.Ok;
}

/// <summary>
/// aica install miniconda|uv --from FILE. The install root ends up root-owned and not group- or world-writable,
/// and is verified by running the tool. A failure at any point leaves the previous install where it was.
/// <para>uv is unpacked beside the install and swapped in with one RENAME_EXCHANGE. Miniconda is not relocatable
/// (the installer writes its prefix into scripts and shebangs), so it must be installed at its final path: the
/// previous install is renamed aside first and renamed back if anything fails. A marker next to the prefix records
/// an install in progress, so an interrupted one is found and redone by the next run.</para>
/// </summary>
public sealed class InstallService(AicaServices s)
{
    public const string RecordName = ".aica-install";

    private string Prefix(AicaConfig c, InstallTool t) => t == InstallTool.Miniconda ? c.CondaRoot : "/data/apps/uv";
    private static string Sibling(string prefix, string what) => $"{prefix[..prefix.LastIndexOf('/')]}/.{prefix[(prefix.LastIndexOf('/') + 1)..]}.aica-{what}";

    public async Task<InstallResult> Run(InstallOptions o, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(o.From))
            throw AicaException.Usage($"--from FILE is required (aica never downloads). Get the installer from {o.Tool.Where} "
                + $"on a machine with network, copy it to this server, then run: aica install {o.Tool.Name} --from FILE");
        if (o.Sha256 is { } want && (want.Length != 64 || !want.All(Uri.IsHexDigit)))
            throw AicaException.Usage($"--sha256 needs 64 hex digits, got '{Names.Printable(want)}'");
        if (!o.DryRun) s.RequireRoot($"install {o.Tool.Name}");
        s.RequireDataMounted();
        var config = s.LoadConfig();
        var prefix = Prefix(config, o.Tool);
        var from = Path.GetFullPath(o.From);
        var steps = new List<string>();

        // The installer must be a readable regular file of the right kind before anything changes.
        var sha = CheckInstaller(o.Tool, from);
        if (o.Sha256 is { } expected && !string.Equals(expected, sha, StringComparison.OrdinalIgnoreCase))
            return Failed($"{from}: sha256 {sha} does not match --sha256 {expected.ToLowerInvariant()} (corrupt or wrong download)");

        using var _ = o.DryRun ? null : s.Lock(ct);
        RefuseLinkedParents(prefix);
        var marker = Sibling(prefix, "partial");
        var aside = Sibling(prefix, "old");
        var staging = Sibling(prefix, "new");
        var backup = $"{config.BackupDir}/install_{s.Clock.Stamp()}";
        var inPlace = o.Tool == InstallTool.Miniconda;
        var name = prefix[(prefix.LastIndexOf('/') + 1)..];
        if (s.Fs.Lstat(marker) is not null)
        {
            steps.Add($"an interrupted install was found ({marker}): it is discarded and redone");
            if (!o.DryRun) await DiscardInterrupted(inPlace, prefix, aside, staging, marker, ct).ConfigureAwait(false);
        }
        if (s.Fs.Lstat(aside) is not null)
        {
            var back = s.Fs.Lstat(prefix) is null;
            steps.Add(back ? $"a previous install left aside at {aside} is put back first" : $"a previous install left at {aside} is moved to {backup}/");
            if (!o.DryRun) { if (back) s.Fs.Rename(aside, prefix); else KeepInBackup(aside, backup, name + ".earlier"); }
        }

        var current = s.Fs.Lstat(prefix);
        if (current is { IsDir: false })
            return Failed($"{s.Fs.Host(prefix)} exists and is not a directory; move it away first");
        if (current is not null && !o.DryRun)
        {
            var record = s.Fs.ReadText($"{prefix}/{RecordName}");
            if (record is not null && record.Contains($"sha256={sha}\n") && await Verify(o.Tool, prefix, ct).ConfigureAwait(false) is { Error: null } same)
                return new InstallResult(o.Tool.Name, prefix, from, sha, "unchanged", same.Version, ["already installed from this installer and working: nothing to do"], null, null);
        }

        if (current is not null)
            steps.Add(await Verify(o.Tool, prefix, ct).ConfigureAwait(false) is { Error: { } broken }
                ? $"the current install does not work ({broken}): it is replaced and kept in {backup}/"
                : $"the current install is replaced and kept in {backup}/");
        steps.Add(o.Tool == InstallTool.Miniconda ? $"run bash {from} -b -p {s.Fs.Host(prefix)}" : $"unpack {from} into {s.Fs.Host(prefix)}");
        steps.Add($"make {prefix} root-owned and not group- or world-writable; check that {o.Tool.VersionProgram} --version runs");
        if (o.DryRun) return new InstallResult(o.Tool.Name, prefix, from, sha, "planned", null, steps, null, null);

        EnsureAppsDir(prefix, steps);
        var copy = Sibling(prefix, "installer");
        var oldUmask = Sys.Umask(O(22)); // the child installs with 022, whatever the admin's shell had
        try
        {
            if (Snapshot(from, copy) is var copied && copied != sha)
                return Failed($"{from} changed after it was checked (sha256 now {copied}): nothing installed; check who can write it");
            var (version, error) = inPlace
                ? await InstallInPlace(s.Fs.Host(copy), prefix, aside, marker, ct).ConfigureAwait(false)
                : await InstallBeside(s.Fs.Host(copy), prefix, staging, aside, marker, ct).ConfigureAwait(false);
            if (error is not null)
            {
                s.Log("install", $"{o.Tool.Name} from {from} failed: {error}; previous install left in place");
                return new InstallResult(o.Tool.Name, prefix, from, sha, "failed", null, steps, current is null ? null : prefix, error);
            }
            s.Fs.WriteAtomic($"{prefix}/{RecordName}", Encoding.UTF8.GetBytes($"tool={o.Tool.Name}\nfrom={from}\nsha256={sha}\nversion={version}\ntime={s.Clock.LogTime()}\n"), O(644));
            var previous = s.Fs.Lstat(aside) is null ? null : KeepInBackup(aside, backup, name);
            s.Fs.Unlink(marker);
            s.Log("install", $"{o.Tool.Name} {version} from {from} (sha256 {sha}) at {prefix}{(previous is null ? "" : $", previous kept in {previous}")}");
            return new InstallResult(o.Tool.Name, prefix, from, sha, "installed", version, steps, previous, null);
        }
        finally
        {
            Sys.Umask(oldUmask);
            try { s.Fs.Unlink(copy); } catch (SysException) { /* never made, or already gone */ }
        }

        InstallResult Failed(string error) => new(o.Tool.Name, prefix, from, sha, "failed", null, steps, null, error);
    }

    /// <summary>Missing, unreadable, empty or the wrong kind of file is exit 1 before anything changes. Returns the sha256.</summary>
    private static string CheckInstaller(InstallTool tool, string from)
    {
        byte[] head;
        string sha;
        try
        {
            var info = new FileInfo(from);
            if (!info.Exists) throw new AicaException($"installer {from} not found");
            if (info.Attributes.HasFlag(FileAttributes.Directory)) throw new AicaException($"installer {from} is a directory, not a file");
            using var f = File.OpenRead(from);
            head = new byte[Math.Min(512, (int)Math.Min(int.MaxValue, f.Length))];
            f.ReadExactly(head);
            f.Position = 0;
            sha = Convert.ToHexStringLower(SHA256.HashData(f));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AicaException($"cannot read installer {from}: {e.Message}");
        }
        if (head.Length == 0) throw new AicaException($"installer {from} is empty");
        if (tool == InstallTool.Miniconda)
        {
            var first = Encoding.ASCII.GetString(head).Split('\n')[0];
            if (!(first.StartsWith("#!/bin/sh") || first.StartsWith("#!/bin/bash") || first.StartsWith("#!/usr/bin/env bash")))
                throw new AicaException($"{from} is not a Miniconda installer (a shell script starting with #!/bin/sh or #!/bin/bash); "
                    + "it cannot be run with bash. Was the download an HTML page or the wrong file?");
        }
        else if (head.Length < 2 || head[0] != 0x1f || head[1] != 0x8b)
            throw new AicaException($"{from} is not a gzip-compressed tar archive (uv-<arch>-unknown-linux-gnu.tar.gz)");
        return sha;
    }

    /// <summary>
    /// The installer as root runs it: a root-only copy (0600, beside the install in the root-owned apps directory),
    /// made in one read that also hashes it; the admin's path is never read again. Running the path that was checked
    /// would let whoever can replace that file (often a member's folder or a shared one) swap it after the sha256
    /// check: root would run their script, or unpack their archive. Returns the sha256 of what was copied.
    /// </summary>
    private string Snapshot(string from, string copy)
    {
        var host = s.Fs.Host(copy);
        var (dir, name) = s.Fs.OpenParent(copy);
        using (dir)
        {
            Sys.TryUnlinkAt(dir.Fd, name, false); // left by a killed run
            using var fd = Sys.OpenAt(dir.Fd, name, Flags.O_WRONLY | Flags.O_CREAT | Flags.O_EXCL | Flags.O_NOFOLLOW, O(600), host);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            try
            {
                using var src = File.OpenRead(from);
                var buf = new byte[1 << 20];
                int n;
                while ((n = src.Read(buf)) > 0)
                {
                    hash.AppendData(buf, 0, n);
                    Sys.WriteAll(fd, buf.AsSpan(0, n), host);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new AicaException($"cannot read installer {from}: {e.Message}");
            }
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
    }

    /// <summary>A link on the way to the prefix (planted while /data/apps was group-writable) is never followed: exit 3.</summary>
    private void RefuseLinkedParents(string prefix)
    {
        var parts = prefix.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 1; i <= parts.Length; i++)
        {
            var p = "/" + string.Join('/', parts[..i]);
            if (s.Fs.Lstat(p) is { IsLink: true })
                throw AicaException.Refused($"{p} is a symbolic link to {s.Fs.ShowLink(p)}: refusing to install through it (remove the link, then rerun)");
        }
    }

    /// <summary>/data/apps itself root:root 0755 (a group-writable parent would let a member swap the install).</summary>
    private void EnsureAppsDir(string prefix, List<string> steps)
    {
        var parent = prefix[..prefix.LastIndexOf('/')];
        s.Fs.EnsureParents(prefix);
        if (s.Fs.Lstat(parent) is { IsDir: true } st && (st.Uid != 0 || st.Gid != 0 || (st.Perm & O(2022)) != 0))
        {
            s.Fs.SetOwnerMode(parent, 0, 0, st.Perm & ~O(2022)); // a root-only directory needs no setgid either
            steps.Add($"{parent} was {Convert.ToString(st.Perm, 8)} {st.Uid}:{st.Gid}: now root:root, not group- or world-writable");
        }
    }

    private async Task<(string? Version, string? Error)> InstallInPlace(string from, string prefix, string aside, string marker, CancellationToken ct)
    {
        // Aside first, marker second: a crash between the two leaves only the aside copy, which the next run puts back.
        if (s.Fs.Lstat(prefix) is not null) s.Fs.Rename(prefix, aside);
        s.Fs.WriteAtomic(marker, Encoding.UTF8.GetBytes($"installing {from} since {s.Clock.LogTime()}\n"), O(644));
        var r = await s.Runner.RunAsync("bash", [from, "-b", "-p", s.Fs.Host(prefix)], ct).ConfigureAwait(false);
        string? error = r.Ok ? null : $"the installer exited {r.ExitCode}: {r.Brief}";
        string? version = null;
        if (error is null) error = Normalise(prefix);
        if (error is null) (version, error) = await Verify(InstallTool.Miniconda, prefix, ct).ConfigureAwait(false);
        if (error is not null) await RollBack(prefix, aside, marker, ct).ConfigureAwait(false);
        return (version, error);
    }

    private async Task<(string? Version, string? Error)> InstallBeside(string from, string prefix, string staging, string aside, string marker, CancellationToken ct)
    {
        s.Fs.WriteAtomic(marker, Encoding.UTF8.GetBytes($"installing {from} since {s.Clock.LogTime()}\n"), O(644));
        await RemoveTree(staging, ct).ConfigureAwait(false);
        var error = await Unpack(from, staging, ct).ConfigureAwait(false);
        string? version = null;
        if (error is null) error = Normalise(staging);
        if (error is null) (version, error) = await Verify(InstallTool.Uv, staging, ct).ConfigureAwait(false);
        if (error is not null)
        {
            await RemoveTree(staging, ct).ConfigureAwait(false);
            s.Fs.Unlink(marker);
            return (null, error);
        }
        if (s.Fs.Lstat(prefix) is null) s.Fs.Rename(staging, prefix);
        else
        {
            var (d1, n1) = s.Fs.OpenParent(staging);
            var (d2, n2) = s.Fs.OpenParent(prefix);
            using (d1) using (d2) Sys.RenameAt(d1.Fd, n1, d2.Fd, n2, Flags.RENAME_EXCHANGE, s.Fs.Host(prefix));
            s.Fs.Rename(staging, aside); // the previous install, now at the staging name
        }
        return (version, null);
    }

    /// <summary>The archive is listed first: only plain files and directories with relative, clean names are unpacked.</summary>
    private async Task<string?> Unpack(string from, string staging, CancellationToken ct)
    {
        var list = await s.Runner.RunAsync("tar", ["-tvzf", from], ct).ConfigureAwait(false);
        if (!list.Ok) return $"the archive is corrupt: tar -t exited {list.ExitCode}: {list.Brief}";
        var names = await s.Runner.RunAsync("tar", ["-tzf", from], ct).ConfigureAwait(false);
        foreach (var line in list.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            if (line[0] is not ('-' or 'd')) return $"the archive holds something other than files and directories: {line.Trim()}";
        var files = names.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var n in files)
            if (n.StartsWith('/') || n.Split('/').Contains("..")) return $"the archive holds an unsafe name: {Names.Printable(n)}";
        var top = files.Select(n => n.Split('/')[0]).Distinct().ToList();
        s.Fs.Mkdir(staging, O(755), 0, 0);
        // One top directory (uv-<arch>-unknown-linux-gnu/) is flattened so the programs land in the install root.
        var strip = top.Count == 1 && files.Any(n => n.Contains('/') && n.Split('/')[1].Length > 0);
        var r = await s.Runner.RunAsync("tar", ["-xzf", from, "-C", s.Fs.Host(staging), "--no-same-owner", "--no-same-permissions",
            .. strip ? new[] { "--strip-components=1" } : []], ct).ConfigureAwait(false);
        return r.Ok ? null : $"unpacking failed: tar exited {r.ExitCode}: {r.Brief}";
    }

    /// <summary>Runs the tool's --version as a child; the output must name the tool.</summary>
    private async Task<(string? Version, string? Error)> Verify(InstallTool tool, string root, CancellationToken ct)
    {
        var program = $"{root}/{tool.VersionProgram}";
        var st = s.Fs.Lstat(program);
        if (st is null) return (null, $"{tool.VersionProgram} is missing from the install");
        if (!st.Value.IsFile || (st.Value.Perm & O(100)) == 0) return (null, $"{tool.VersionProgram} in the install is not an executable file");
        var r = await s.Runner.RunAsync(s.Fs.Host(program), ["--version"], ct).ConfigureAwait(false);
        var text = (r.StdOut + r.StdErr).Trim();
        if (!r.Ok) return (null, $"{tool.VersionProgram} --version exited {r.ExitCode}: {r.Brief}");
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(tool.VersionPrefix));
        return line is null ? (null, $"{tool.VersionProgram} --version printed '{Names.Printable(text.Split('\n')[0])}', not a {tool.Name} version") : (line.Trim(), null);
    }

    /// <summary>Root owns everything and nothing is group- or world-writable; execute bits are kept.</summary>
    private string? Normalise(string root)
    {
        var st = s.Fs.Lstat(root);
        if (st is not { IsDir: true }) return $"the installer did not create {s.Fs.Host(root)}";
        using var fd = s.Fs.OpenDir(root);
        var v = new RootOnly();
        TreeWalker.Default().Walk(fd, s.Fs.Host(root), v);
        return v.Error;
    }

    private sealed class RootOnly : IWalkVisitor
    {
        private string? _error;
        public string? Error => _error;

        public bool VisitDirectory(SafeFd dir, in FileStat stat, string path, int depth)
        {
            try { SafeOps.SetOwnerModeOfDir(dir, path, 0, 0, stat.Perm & ~O(22)); }
            catch (SysException e) { OnError(path, e); }
            return true;
        }

        public void VisitEntry(in WalkEntry e)
        {
            if (e.Stat.IsLink)
            {
                if (e.Stat.Uid != 0 || e.Stat.Gid != 0) Sys.LchownAt(e.Parent.Fd, e.ZName, 0, 0, e.Path);
                return;
            }
            var r = SafeOps.ChangeInode(e.Parent, e.ZName, e.Stat, 0, 0, e.Stat.Perm & ~O(22), out var errno);
            if (errno != 0 || r == SafeOps.Result.Raced) Interlocked.CompareExchange(ref _error, $"cannot secure {e.Path}: {(errno != 0 ? Sys.StrError(errno) : "changed during the walk")}", null);
        }

        public void OnError(string path, SysException error) => Interlocked.CompareExchange(ref _error, $"cannot secure {path}: {error.Message}", null);
    }

    /// <summary>
    /// A failed in-place install is removed and the previous one renamed back. The marker goes before the rename: a
    /// crash in between leaves only the aside copy (put back by the next run), never a marker beside a restored
    /// install without a record (a bash-era Miniconda), which the next run would take for a half-written one.
    /// </summary>
    private async Task RollBack(string prefix, string aside, string marker, CancellationToken ct)
    {
        await RemoveTree(prefix, ct).ConfigureAwait(false);
        s.Fs.Unlink(marker);
        if (s.Fs.Lstat(aside) is not null) s.Fs.Rename(aside, prefix);
    }

    /// <summary>
    /// Cleans up after an interrupted run (its marker is there). In place: with the previous install aside, the prefix
    /// is the half-written one; without, a prefix that has no install record never finished. Beside: the staging tree
    /// is the partial one; the prefix was swapped atomically and is whole.
    /// </summary>
    private async Task DiscardInterrupted(bool inPlace, string prefix, string aside, string staging, string marker, CancellationToken ct)
    {
        await RemoveTree(staging, ct).ConfigureAwait(false);
        if (inPlace && s.Fs.Lstat(aside) is not null)
        {
            await RemoveTree(prefix, ct).ConfigureAwait(false);
            s.Fs.Rename(aside, prefix);
        }
        else if (inPlace && s.Fs.ReadText($"{prefix}/{RecordName}") is null)
            await RemoveTree(prefix, ct).ConfigureAwait(false);
        s.Fs.Unlink(marker);
    }

    /// <summary>Moves a previous install into the backup folder (same file system: a rename).</summary>
    private string KeepInBackup(string path, string backup, string name)
    {
        s.Fs.EnsureParents(backup + "/x");
        if (s.Fs.Lstat(backup) is null) s.Fs.Mkdir(backup, O(750), 0, 0);
        var dest = $"{backup}/{name}";
        s.Fs.Rename(path, dest);
        return dest;
    }

    /// <summary>Removes a tree aica itself created in a root-only directory (rm never follows links; --one-file-system).</summary>
    private async Task RemoveTree(string path, CancellationToken ct)
    {
        if (s.Fs.Lstat(path) is null) return;
        var r = await s.Runner.RunAsync("rm", ["-rf", "--one-file-system", "--", s.Fs.Host(path)], ct).ConfigureAwait(false);
        if (!r.Ok) throw new AicaException($"cannot remove {s.Fs.Host(path)}: {r.Brief}");
    }
}
