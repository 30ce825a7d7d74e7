using Aica.Config;
using Aica.Engine;
using Aica.IO;
using Aica.Site;
using static Aica.Native.Perms;

namespace Aica.Users;

/// <summary>
/// <c>hybrid</c> (SPEC §5): a real home on the SSD; the managed dotfiles and <c>.ssh</c> are links into
/// <c>/data/users/U/dotfiles/</c>, <c>~/data</c> → <c>/data/users/U</c>, conda environments on /data.
/// </summary>
public sealed class HybridLayout : IHomeLayout
{
    public string Name => "hybrid";
    public bool HomeIsLink => false;
    public string HomeFolder(string user) => UserSpec.HomeOf(user);
    public string DotBase(UserSpec u) => DotfilesDir(u);
    public bool OnSsd(string dotfile, AicaConfig config) => !Managed(config).Contains(dotfile);

    public static string DotfilesDir(UserSpec u) => $"{u.DataDir}/dotfiles";

    /// <summary>The configured dotfiles, with .ssh (authorized_keys must survive a reset) and the rc files aica writes always among them.</summary>
    public static IReadOnlyList<string> Managed(AicaConfig c) => [.. c.Dotfiles, .. new[] { ".ssh", ".profile", ".zprofile", ".condarc" }.Where(d => !c.Dotfiles.Contains(d))];

    public IEnumerable<Item> Items(UserSpec u, AicaConfig config)
    {
        var dot = DotfilesDir(u);
        yield return SymlinkLayout.UserDataDir(u);
        yield return new DirItem(dot, (uint)u.Uid, (uint)u.SharedGid, O(2750), ModePolicy.NoWider, "user.dotfiles");
        foreach (var i in UserHome.PersistentDirs(u, dot)) yield return i;
        yield return new DirItem(u.Home, (uint)u.Uid, (uint)u.Gid, O(750), ModePolicy.NoWider, "home.dir");
        foreach (var d in Managed(config)) yield return new DotfileLinkItem(u, d, config.BackupDir);
        yield return new LinkItem($"{u.Home}/data", u.DataDir, "home.data-link");
        foreach (var i in UserHome.Blocks(u, config, dot)) yield return i;
        yield return new TamperScanItem(u.Name, [u.DataDir, dot, u.Home]);
    }
}

/// <summary>What both layouts give a user on /data: .ssh, the conda envs directory, the rc blocks and .condarc.</summary>
public static class UserHome
{
    public static string EnvsDir(UserSpec u) => $"{u.DataDir}/conda/envs";

    public static IEnumerable<Item> PersistentDirs(UserSpec u, string dotBase)
    {
        // setgid like every directory of /data/users/U (user fix adds it); sshd only minds write bits
        yield return new DirItem($"{dotBase}/.ssh", (uint)u.Uid, (uint)u.SharedGid, O(2700), ModePolicy.NoWider, "user.ssh");
        yield return new DirItem($"{u.DataDir}/conda", (uint)u.Uid, (uint)u.SharedGid, O(2750), ModePolicy.NoWider, "user.conda");
        yield return new DirItem(EnvsDir(u), (uint)u.Uid, (uint)u.SharedGid, O(2750), ModePolicy.NoWider, "user.conda");
    }

    // The shell block depends on the configuration only: one per configuration, shared by every user's items (a
    // thousand users built a thousand copies of the same text and bytes). A memo keyed by the object, not state.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<AicaConfig, ManagedBlock> ShellBlocks = new();

    public static string ShellBlock(AicaConfig c) => $"""
        # Managed by aica (user add / recover): group-writable files in the shared trees, the shared conda.
        umask 002
        if [ -f {c.CondaRoot}/etc/profile.d/conda.sh ]; then . {c.CondaRoot}/etc/profile.d/conda.sh; fi
        """;

    public static string CondaBlock(UserSpec u, AicaConfig c) => $"""
        # Managed by aica: environments on /data (the SSD is reset at reboot), the package cache shared.
        envs_dirs:
          - {EnvsDir(u)}
        pkgs_dirs:
          - {c.CondaPkgs}
        """;

    /// <summary>.profile (bash and sh login shells), .zprofile (zsh login shells, which never read .profile), .condarc: each with aica's block.</summary>
    public static IEnumerable<Item> Blocks(UserSpec u, AicaConfig c, string dotBase)
    {
        var shell = ShellBlocks.GetValue(c, static c => new ManagedBlock(ShellBlock(c)));
        yield return new ManagedBlockItem($"{dotBase}/.profile", shell, (uint)u.Uid, (uint)u.SharedGid);
        yield return new ManagedBlockItem($"{dotBase}/.zprofile", shell, (uint)u.Uid, (uint)u.SharedGid);
        // bash reads ~/.bash_profile (else ~/.bash_login) instead of ~/.profile when it exists: the block goes there too,
        // never a new file. In a hybrid home an unmanaged one is a file on the SSD (from /etc/skel, or the user's own).
        foreach (var name in new[] { ".bash_profile", ".bash_login" })
        {
            var onSsd = u.Layout.OnSsd(name, c);
            yield return new ManagedBlockItem($"{(onSsd ? u.Home : dotBase)}/{name}", shell, (uint)u.Uid, (uint)(onSsd ? u.Gid : u.SharedGid), onlyIfPresent: true);
        }
        yield return new ManagedBlockItem($"{dotBase}/.condarc", CondaBlock(u, c), (uint)u.Uid, (uint)u.SharedGid, "user.condarc");
    }

    /// <summary>A backup folder <c>BACKUPS/kind-user_stamp/</c> (root 0700), created on first use.</summary>
    public static string BackupDir(EngineContext ctx, string backups, string kind, string user) => BackupDir(ctx.Fs, backups, kind, user, ctx.Clock);

    /// <summary><paramref name="unique"/>: a new folder even within the same second (a journal is never shared).</summary>
    public static string BackupDir(RootedFs fs, string backups, string kind, string user, Clock clock, bool unique = false) =>
        BackupDirs.Make(fs, backups, $"{kind}-{user}", clock, unique);
}

/// <summary>
/// <c>~/NAME</c> → <c>/data/users/U/dotfiles/NAME</c>. A persistent dotfile always wins: an SSD copy found here
/// moves into the persistent place when there is none, otherwise to a backup, never over it. A real <c>~/.ssh</c>
/// is merged into the persistent one entry by entry (no nesting); a link pointing elsewhere is replaced.
/// </summary>
public sealed class DotfileLinkItem(UserSpec u, string name, string backups) : Item
{
    public string Path => $"{u.Home}/{name}";
    public string Target => $"{HybridLayout.DotfilesDir(u)}/{name}";
    public override string Id => "home.dotfile";
    public override string Subject => Path;
    public override string Describe => $"link {Path} -> {Target}";

    /// <summary>The plain link check (missing, or pointing elsewhere) is the engine's own.</summary>
    private LinkItem Link => new(Path, Target, Id);

    public override Drift? Check(EngineContext ctx)
    {
        var st = ctx.Fs.Lstat(Path);
        if (st is null || st.Value.IsLink) return Link.Check(ctx);
        if (!st.Value.IsFile && !st.Value.IsDir)
            return new Drift($"{Path} is not a file, directory or link", $"remove {ctx.Fs.Host(Path)}", Conflict: true);
        return new Drift($"{Path} is an SSD copy, want a link to {Target}", "aica recover keeps the persistent copy and backs the SSD one up");
    }

    public override Task Apply(EngineContext ctx, Drift drift, CancellationToken ct)
    {
        var st = ctx.Fs.Lstat(Path);
        var tree = new TreeMover(ctx.Fs, new CopyOptions { Step = ctx.Work.Step }); // a member's SSD tree of millions of entries spends only their budget
        if (st is { IsLink: false })
        {
            var persistent = ctx.Fs.Lstat(Target);
            if (st.Value.IsDir && persistent is { IsDir: true }) MergeDir(ctx, tree);
            else if (persistent is null) tree.Move(Path, Target);
            else ToBackup(ctx, tree, Path, name);
            ctx.Notes.Add($"{Path}: SSD copy {(persistent is null ? $"moved to {Target}" : "moved to a backup (the persistent copy wins)")}");
        }
        ctx.Notes.AddRange(tree.Notes);
        ctx.Fs.ReplaceWithSymlink(Path, Target, (uint)u.Uid, (uint)u.Gid);
        return Task.CompletedTask;
    }

    /// <summary>A real ~/.ssh (or other directory) merged into the persistent one: new names move in, clashes go to a backup.</summary>
    private void MergeDir(EngineContext ctx, TreeMover tree)
    {
        foreach (var entry in ctx.Fs.List(Path))
        {
            ctx.Work.Step();
            var from = $"{Path}/{entry}";
            var to = $"{Target}/{entry}";
            var existing = ctx.Fs.Lstat(to);
            if (existing is null) { tree.Move(from, to); continue; }
            if (entry == "authorized_keys" && existing.Value.IsFile && ctx.Fs.Lstat(from) is { IsFile: true })
            {
                // Latin-1 on both sides, so each key line is compared and carried over byte for byte, UTF-8 or not.
                // The persistent lines go into a set once: each SSD line is one lookup (SPEC §6.10), not a rescan of the file.
                var latin1 = System.Text.Encoding.Latin1;
                var mine = latin1.GetString(ctx.Fs.ReadFile(to) ?? []);
                var known = new HashSet<string>(mine.Split('\n'), StringComparer.Ordinal);
                var extra = new List<string>();
                var lines = 0;
                foreach (var l in latin1.GetString(ctx.Fs.ReadFile(from) ?? []).Split('\n'))
                {
                    if ((++lines & 1023) == 0) ctx.Work.Step();
                    if (l.Trim().Length > 0 && known.Add(l)) extra.Add(l);
                }
                if (extra.Count > 0)
                {
                    if (mine.Length > 0 && !mine.EndsWith('\n')) mine += "\n";
                    ctx.Fs.WriteAtomic(to, latin1.GetBytes(mine + string.Join("\n", extra) + "\n"), O(600), existing.Value.Uid, existing.Value.Gid);
                }
            }
            ToBackup(ctx, tree, from, $"{name}/{entry}");
        }
        // Only an empty folder is removed: what could not be moved by name (not UTF-8) or appeared meanwhile goes to the
        // backup with the folder, never deleted.
        try { ctx.Fs.Rmdir(Path); }
        catch (Aica.Native.SysException e) when (e.Errno is Aica.Native.Flags.ENOTEMPTY or Aica.Native.Flags.EEXIST) { ToBackup(ctx, tree, Path, name); }
    }

    private void ToBackup(EngineContext ctx, TreeMover tree, string from, string rel)
    {
        var dir = UserHome.BackupDir(ctx, backups, "dotfiles", u.Name);
        var dest = $"{dir}/{rel}";
        if (rel.Contains('/') && ctx.Fs.Lstat(dest[..dest.LastIndexOf('/')]) is null) ctx.Fs.Mkdir(dest[..dest.LastIndexOf('/')], O(700), 0, 0);
        if (ctx.Fs.Lstat(dest) is not null) dest += $".{ctx.Clock.Stamp()}";
        tree.Move(from, dest);
        ctx.Notes.Add($"backed up {SafeOps.Escape(System.Text.Encoding.UTF8.GetBytes(from))} to {SafeOps.Escape(System.Text.Encoding.UTF8.GetBytes(dest))}");
    }
}
