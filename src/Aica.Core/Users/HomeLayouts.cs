using Aica.Config;
using Aica.Engine;
using Aica.Site;
using static Aica.Native.Perms;

namespace Aica.Users;

/// <summary><c>/home/U</c> → <c>/data/users/U</c>.</summary>
public sealed class SymlinkLayout : IHomeLayout
{
    public string Name => "symlink";

    public IEnumerable<Item> Items(UserSpec u, AicaConfig config)
    {
        yield return UserDataDir(u);
        yield return new LinkItem(u.Home, u.DataDir);
        foreach (var i in UserHome.PersistentDirs(u, u.DataDir)) yield return i;
        foreach (var i in UserHome.Blocks(u, config, u.DataDir)) yield return i;
        // The home is the group-readable data dir: the HuggingFace token needs a private folder (made when missing).
        yield return new PrivateDirItem(u.DataDir, PrivateDirItem.HfHome, (uint)u.Uid, (uint)u.SharedGid, realHome: u.Home);
        yield return new TamperScanItem(u.Name, [u.DataDir]);
    }

    public static DirItem UserDataDir(UserSpec u) =>
        new(u.DataDir, (uint)u.Uid, (uint)u.SharedGid, O(2750), ModePolicy.NoWider, "user.data");
}

/// <summary>The layouts this aica supports, found by their registry value.</summary>
public sealed class HomeLayouts(IEnumerable<IHomeLayout> layouts)
{
    private readonly Dictionary<string, IHomeLayout> _byName = layouts.ToDictionary(l => l.Name);

    public static HomeLayouts Default() => new([new SymlinkLayout(), new HybridLayout()]);

    public IHomeLayout? Find(string name) => _byName.GetValueOrDefault(name);
}

/// <summary>The desired state of this server with the layouts this aica supports.</summary>
public static class ServerState
{
    extension(AicaServices s)
    {
        public DesiredStateBuilder Builder(AicaConfig config) => s.Builder(config, HomeLayouts.Default().Find);
    }
}
