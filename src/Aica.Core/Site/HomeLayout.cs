using Aica.Config;
using Aica.Engine;

namespace Aica.Site;

/// <summary>The resolved facts of one registered user that layouts and items need.</summary>
public sealed record UserSpec(string Name, int Uid, int Gid, string Shell, IHomeLayout Layout, int SharedGid, string SharedGroup)
{
    public string DataDir => DataDirOf(Name);

    /// <summary>A user's persistent folder on /data, whatever the layout.</summary>
    public static string DataDirOf(string name) => $"/data/users/{name}";
    public string Home => HomeOf(Name);

    public static string HomeOf(string name) => $"/home/{name}";
}

/// <summary>A home layout (SPEC §5): the items that make a user's home. Recovery takes the layout from the registry, never guesses.</summary>
public interface IHomeLayout
{
    /// <summary>The registry and config value (<c>symlink</c>, <c>hybrid</c>): the only place the name is compared.</summary>
    string Name { get; }

    /// <summary><c>/home/U</c> is a link to <c>/data/users/U</c>, which members of the group can read; else a real folder on the SSD.</summary>
    bool HomeIsLink { get; }

    /// <summary>The folder <c>~</c> really is (a user's <c>~/.cache</c> is below it), reached without the home's link.</summary>
    string HomeFolder(string user);

    /// <summary>Where the user's persistent dotfiles (.ssh, .profile, .condarc) are.</summary>
    string DotBase(UserSpec user);

    /// <summary>A dotfile aica edits only where it is, in the SSD home (not persistent), rather than in <see cref="DotBase"/>.</summary>
    bool OnSsd(string dotfile, AicaConfig config);

    IEnumerable<Item> Items(UserSpec user, AicaConfig config);
}
