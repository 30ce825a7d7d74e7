using System.Text;
using Bogus;
using Aica.Tests.Infra;

namespace Aica.Tests.Data;

/// <summary>
/// Seeded shared trees for the data specs: nested datasets with wrong groups and modes, files owned by members,
/// non-members and root, executables, and odd names (spaces, newlines, non-UTF-8 bytes).
/// </summary>
public sealed class TreeFaker(int seed)
{
    private readonly Faker _f = new() { Random = new Randomizer(seed) };

    public sealed record Made(int Dirs, int Files, List<string> Paths);

    /// <summary>Creates a tree under the host directory <paramref name="root"/>, owned by <paramref name="uids"/> and gids at random.</summary>
    public Made Build(string root, int dirs, int filesPerDir, uint[] uids, uint[] gids, bool oddNames = true)
    {
        Directory.CreateDirectory(root);
        var all = new List<string> { root };
        var paths = new List<string>();
        var files = 0;
        for (var i = 0; i < dirs; i++)
        {
            var parent = _f.PickRandom(all);
            var d = Path.Combine(parent, Name(oddNames, i));
            Directory.CreateDirectory(d);
            Chown(d, _f.PickRandom(uids), _f.PickRandom(gids), _f.PickRandom(0x1ED /*755*/, 0x1C0 /*700*/, 0x1E8 /*750*/, 0x5ED /*2755*/));
            all.Add(d);
            paths.Add(d);
        }
        foreach (var d in all)
        {
            for (var k = 0; k < filesPerDir; k++)
            {
                var p = Path.Combine(d, Name(oddNames, 1000 + files) + _f.PickRandom(".bin", ".txt", ".parquet", ".sh", ""));
                File.WriteAllBytes(p, _f.Random.Bytes(_f.Random.Int(0, 300)));
                Chown(p, _f.PickRandom(uids), _f.PickRandom(gids), _f.PickRandom(0x1A4 /*644*/, 0x180 /*600*/, 0x1ED /*755*/, 0x1C0 /*700*/, 0x120 /*440*/));
                paths.Add(p);
                files++;
            }
        }
        return new Made(dirs, files, paths);
    }

    private string Name(bool odd, int i)
    {
        var baseName = $"{_f.Hacker.Noun().Replace(' ', '_')}{i}";
        if (!odd) return baseName;
        return _f.Random.Int(0, 9) switch
        {
            0 => baseName + " with spaces",
            1 => baseName + "\nnewline",
            _ => baseName,
        };
    }

    private static void Chown(string path, uint uid, uint gid, int mode)
    {
        var z = Native.Sys.Z(path);
        using var fd = Native.Sys.OpenAt(Native.Flags.AT_FDCWD, z, Native.Flags.O_PATH | Native.Flags.O_NOFOLLOW, 0, path);
        Native.Sys.TryFchownPath(fd, uid, gid);
        Native.Sys.TryFchmodPath(fd, (uint)mode);
    }

    /// <summary>A name that is not valid UTF-8 (made with the shell: .NET strings cannot hold it).</summary>
    public static void MakeNonUtf8(string dir, string kind)
    {
        var r = Tools.Sh(kind == "dir" ? $"mkdir \"{dir}/$(printf 'bad\\377name')\"" : $"printf x > \"{dir}/$(printf 'bad\\377file')\"");
        if (r.ExitCode != 0) throw new InvalidOperationException(r.ToString());
    }

    public static string Bytes(string s) => Convert.ToHexString(Encoding.UTF8.GetBytes(s));
}
