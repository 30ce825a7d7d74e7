using Aica.IO;
using Aica.Native;
using static Aica.Native.Perms;

namespace Aica.Accounts;

/// <summary>What reading the stored account state gave: nothing stored yet, the state, or a refusal with its reason.</summary>
public sealed record StoredAccounts(AccountState? State, string? Refused, byte[]? Bytes, string? Unreadable = null)
{
    public static readonly StoredAccounts None = new(null, null, null);
    public bool Exists => State is not null || Refused is not null;
}

/// <summary>
/// The account state file on /data: <c>/data/admin/accounts/accounts.state</c>, root:root 0600 in a root:root 0700
/// directory. Written atomically (temp file, fsync, rename: a reset in the middle leaves the old file whole).
/// A file that is not root's, readable by others, a link, hard-linked, truncated or corrupt is refused as a
/// whole: its hashes are never used, so a refused store can never unlock an account.
/// </summary>
public sealed class AccountStore(RootedFs fs)
{
    public const string Dir = "/data/admin/accounts";
    public const string Path = Dir + "/accounts.state";

    public StoredAccounts Read()
    {
        // A member running doctor cannot look into /data/admin: not a refusal, nothing to compare.
        try { return ReadChecked(); }
        catch (SysException e) when (e.Errno == Flags.EACCES) { return new StoredAccounts(null, null, null, $"{fs.Host(Path)}: {e.Message}"); }
    }

    private StoredAccounts ReadChecked()
    {
        var dir = fs.Lstat(Dir);
        if (dir is null) return StoredAccounts.None;
        if (dir.Value.IsLink || !dir.Value.IsDir) return Refuse($"{fs.Host(Dir)} is not a directory");
        if (!dir.Value.OnlyRootWrites)
            return Refuse($"{fs.Host(Dir)} is {Owner(dir.Value)} {Mode(dir.Value)}: another user could replace the state (want root-only 0700)");
        var st = fs.Lstat(Path);
        if (st is null) return StoredAccounts.None;
        var s = st.Value;
        if (s.IsLink || !s.IsFile) return Refuse($"{fs.Host(Path)} is not a regular file");
        if (s.Uid != 0) return Refuse($"{fs.Host(Path)} is owned by uid {s.Uid}, not root");
        if ((s.Perm & O(77)) != 0) return Refuse($"{fs.Host(Path)} is readable or writable by others ({Mode(s)}; want 0600): password hashes may have leaked");
        if (s.Nlink > 1) return Refuse($"{fs.Host(Path)} has {s.Nlink} hard links");
        byte[]? bytes;
        try { bytes = fs.ReadFile(Path); }
        catch (SysException e) when (e.Errno != Flags.EACCES) { return Refuse($"{fs.Host(Path)}: {e.Message}"); }
        if (bytes is null) return StoredAccounts.None;
        var (state, problem) = AccountState.Parse(bytes);
        return state is null ? new StoredAccounts(null, $"{fs.Host(Path)} is {problem}", bytes) : new StoredAccounts(state, null, bytes);
    }

    private static StoredAccounts Refuse(string why) => new(null, why, null);
    private static string Mode(FileStat s) => Convert.ToString(s.Perm, 8).PadLeft(4, '0');
    private static string Owner(FileStat s) => $"uid {s.Uid}";

    /// <summary>Writes the state when it differs from <paramref name="current"/>; true when written.</summary>
    public bool Write(AccountState state, byte[]? current)
    {
        var bytes = state.Render();
        if (current is not null && current.AsSpan().SequenceEqual(bytes) && fs.Lstat(Path) is { Uid: 0 } st && (st.Perm & O(77)) == 0) return false;
        var dir = fs.Lstat(Dir);
        if (dir is null)
        {
            fs.EnsureParents(Dir);
            fs.Mkdir(Dir, O(700), 0, 0);
        }
        else if (dir.Value.IsDir && !dir.Value.IsLink && (dir.Value.Uid != 0 || (dir.Value.Perm & O(77)) != 0))
            fs.SetOwnerMode(Dir, 0, 0, O(700));
        fs.WriteAtomic(Path, bytes, O(600));
        return true;
    }
}
