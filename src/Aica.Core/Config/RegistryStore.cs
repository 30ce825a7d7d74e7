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
        // Decoded losslessly: a line an admin typed in another encoding is written back byte for byte (SPEC §4).
        var (before, encoding) = RawText.Decode(fs.ReadFile(AicaConfig.RegistryPath) ?? []);
        var reg = Registry.Parse(before);
        var result = change(reg);
        var after = reg.Render();
        if (after != before)
        {
            fs.EnsureParents(AicaConfig.RegistryPath);
            fs.WriteAtomic(AicaConfig.RegistryPath, encoding.GetBytes(after), O(644));
        }
        return result;
    }
}
