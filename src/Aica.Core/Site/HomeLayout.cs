using Aica.Config;
using Aica.Engine;

namespace Aica.Site;

/// <summary>The resolved facts of one registered user that layouts and items need.</summary>
public sealed record UserSpec(string Name, int Uid, int Gid, string Shell, string Layout, int SharedGid, string SharedGroup)
{
    public string DataDir => DataDirOf(Name);

    /// <summary>A user's persistent folder on /data, whatever the layout.</summary>
    public static string DataDirOf(string name) => $"/data/users/{name}";
    public string Home => $"/home/{Name}";
}

/// <summary>A home layout (SPEC §5): the items that make a user's home. Recovery takes the layout from the registry, never guesses.</summary>
public interface IHomeLayout
{
    string Name { get; }
    IEnumerable<Item> Items(UserSpec user, AicaConfig config);
}
