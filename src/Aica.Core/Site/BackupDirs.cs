using Aica.IO;
using static Aica.Native.Perms;

namespace Aica.Site;

/// <summary>Backup folders under <c>data.backups</c>: <c>LABEL_STAMP[-N]/</c>, root 0700, made on first use.</summary>
public static class BackupDirs
{
    /// <param name="unique">A new folder even within the same second (a journal or a kept file is never shared).</param>
    public static string Make(RootedFs fs, string backups, string label, Clock clock, bool unique = false)
    {
        var dir = $"{backups}/{label}_{clock.Stamp()}";
        for (var i = 2; unique && fs.Lstat(dir) is not null; i++) dir = $"{backups}/{label}_{clock.Stamp()}-{i}";
        if (fs.Lstat(dir) is null)
        {
            fs.EnsureParents(dir);
            fs.Mkdir(dir, O(700), 0, 0);
        }
        return dir;
    }
}
