using Aica.Config;
using static Aica.Native.Perms;

namespace Aica.Engine;

/// <summary>The resolved facts of one registered user that layouts and items need.</summary>
public sealed record UserSpec(string Name, int Uid, int Gid, string Shell, string Layout, int SharedGid, string SharedGroup)
{
    public string DataDir => $"/data/users/{Name}";
    public string Home => $"/home/{Name}";
}

/// <summary>A home layout (SPEC §5): the items that make a user's home. Recovery takes the layout from the registry, never guesses.</summary>
public interface IHomeLayout
{
    string Name { get; }
    IEnumerable<Item> Items(UserSpec user, AicaConfig config);
}

/// <summary><c>/home/U</c> → <c>/data/users/U</c>.</summary>
public sealed class SymlinkLayout : IHomeLayout
{
    public string Name => "symlink";

    public IEnumerable<Item> Items(UserSpec u, AicaConfig config)
    {
        yield return UserDataDir(u);
        yield return new LinkItem(u.Home, u.DataDir);
        foreach (var i in Users.UserHome.PersistentDirs(u, u.DataDir)) yield return i;
        foreach (var i in Users.UserHome.Blocks(u, config, u.DataDir)) yield return i;
        // The home is the group-readable data dir: the HuggingFace token needs a private folder (made when missing).
        yield return new Users.PrivateDirItem(u.DataDir, Users.PrivateDirItem.HfHome, (uint)u.Uid, (uint)u.SharedGid, realHome: u.Home);
        yield return new Users.TamperScanItem(u.Name, [u.DataDir]);
    }

    public static DirItem UserDataDir(UserSpec u) =>
        new(u.DataDir, (uint)u.Uid, (uint)u.SharedGid, O(2750), ModePolicy.NoWider, "user.data");
}

/// <summary>Finds the layout implementation for a registry value.</summary>
public sealed class HomeLayouts(IEnumerable<IHomeLayout> layouts)
{
    private readonly Dictionary<string, IHomeLayout> _byName = layouts.ToDictionary(l => l.Name);

    public static HomeLayouts Default() => new([new SymlinkLayout(), new Users.HybridLayout()]);

    public IHomeLayout? Find(string name) => _byName.GetValueOrDefault(name);
}
