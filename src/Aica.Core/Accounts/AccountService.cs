using Aica.IO;

namespace Aica.Accounts;

/// <summary>Creates groups and accounts with shadow-utils (with <c>-P ROOT</c> under --root), always with explicit ids.</summary>
public sealed class AccountService(RootedFs fs, ProcessRunner runner)
{
    public AccountDb Load() => AccountDb.Load(fs, runner);

    public LoginDefs LoginDefs()
    {
        try { return Accounts.LoginDefs.Parse(fs.ReadText("/etc/login.defs")); }
        catch (Native.SysException) { return new LoginDefs(); }
    }

    /// <summary>The account files as Latin-1 text for the account state (gshadow left out: nothing captured comes from it; shadow is root-only: throws EACCES otherwise).</summary>
    public AccountTexts ReadTexts()
    {
        string Read(string p) => fs.ReadFile(p) is { } b ? System.Text.Encoding.Latin1.GetString(b) : "";
        return new AccountTexts(Read("/etc/passwd"), Read("/etc/group"), Read("/etc/shadow"), null);
    }

    private IEnumerable<string> Prefix => fs.IsRealRoot ? [] : ["-P", fs.Root];

    private async Task Run(string tool, IEnumerable<string> args, string what, CancellationToken ct)
    {
        var r = await runner.RunAsync(tool, Prefix.Concat(args), ct).ConfigureAwait(false);
        if (!r.Ok) throw new AicaException($"{what} failed: {tool} exited {r.ExitCode}: {r.Brief}");
    }

    public Task CreateGroup(string name, int gid, CancellationToken ct = default) =>
        Run("groupadd", ["-g", gid.ToString(), name], $"creating group {name} (gid {gid})", ct);

    /// <summary>An account with no password (locked until a key or the admin gives access), no home created here.</summary>
    public Task CreateUser(string name, int uid, int gid, string shell, string home, string? supplementary, CancellationToken ct = default)
    {
        var args = new List<string> { "-u", uid.ToString(), "-g", gid.ToString(), "-s", shell, "-d", home, "-M", "-N" };
        if (supplementary is not null) { args.Add("-G"); args.Add(supplementary); }
        args.Add(name);
        return Run("useradd", args, $"creating account {name} (uid {uid})", ct);
    }

    public Task AddToGroup(string user, string group, CancellationToken ct = default) =>
        Run("usermod", ["-a", "-G", group, user], $"adding {user} to {group}", ct);

    /// <summary>userdel without -r (aica moves homes itself); <paramref name="force"/>: even with running processes (-f).</summary>
    public Task DeleteUser(string name, bool force = false, CancellationToken ct = default) =>
        Run("userdel", force ? ["-f", name] : [name], $"removing account {name}", ct);

    public Task DeleteGroup(string name, CancellationToken ct = default) =>
        Run("groupdel", [name], $"removing group {name}", ct);
}
