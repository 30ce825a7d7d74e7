using Aica.Config;
using Aica.Engine;
using Aica.Site;
using static Aica.Native.Perms;

namespace Aica.Users;

/// <summary><c>/home/U</c> → <c>/data/users/U</c>.</summary>
public sealed class SymlinkLayout : IHomeLayout
{
    public string Name => "symlink";
    public bool HomeIsLink => true;
    public string HomeFolder(string user) => UserSpec.DataDirOf(user);
    public string DotBase(UserSpec u) => u.DataDir;
    public bool OnSsd(string dotfile, AicaConfig config) => false;

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

    /// <summary>The layouts this aica supports (stateless objects, shared).</summary>
    public static readonly HomeLayouts Supported = new([new SymlinkLayout(), new HybridLayout()]);

    /// <summary>The layout of a registry or config value; null when this aica does not know it.</summary>
    public IHomeLayout? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>A user's layout: the registered one, else the config's default.</summary>
    public IHomeLayout? Of(UserEntry e, AicaConfig config) => Find(e.Layout ?? config.DefaultLayout);
}

/// <summary>The desired state of this server with the layouts this aica supports.</summary>
public static class ServerState
{
    extension(AicaServices s)
    {
        public DesiredStateBuilder Builder(AicaConfig config) => s.Builder(config, HomeLayouts.Supported.Find);
    }
}
