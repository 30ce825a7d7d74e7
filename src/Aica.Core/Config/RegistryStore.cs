using System.Text;
using Aica.IO;
using static Aica.Native.Perms;

namespace Aica.Config;

/// <summary>Reads the registry, and changes it only under its lock with an atomic rewrite (SPEC §4).</summary>
public sealed class RegistryStore(RootedFs fs)
{
    public const string LockPath = "/data/config/.users.txt.lock";

    public Registry Load() => Registry.Parse(fs.ReadText(AicaConfig.RegistryPath) ?? "");

    /// <summary>Reloads under the lock, applies <paramref name="change"/>, and writes only if the text changed.</summary>
    public T Update<T>(Func<Registry, T> change, TimeSpan wait, CancellationToken ct = default)
    {
        using var _ = FileLock.Acquire(fs, LockPath, wait, "the user registry", ct);
        var before = fs.ReadText(AicaConfig.RegistryPath) ?? "";
        var reg = Registry.Parse(before);
        var result = change(reg);
        var after = reg.Render();
        if (after != before)
        {
            fs.EnsureParents(AicaConfig.RegistryPath);
            fs.WriteAtomic(AicaConfig.RegistryPath, Encoding.UTF8.GetBytes(after), O(644));
        }
        return result;
    }
}
