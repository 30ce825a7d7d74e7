namespace Aica.Tests.Infra;

/// <summary>
/// A server under a temporary folder for <c>--root</c> tests: minimal /etc with real passwd/group/shadow files
/// (shadow-utils write them with -P), and <c>data/</c> a real tmpfs mounted on the host side, so the mount check
/// sees a mounted /data. Dispose unmounts and deletes everything.
/// </summary>
public sealed class Sandbox : IDisposable
{
    public string Root { get; }
    public bool Mounted { get; }

    public Sandbox(bool mountData = true)
    {
        Root = Directory.CreateTempSubdirectory("aica-sb-").FullName;
        Tools.Sh($"chmod 755 '{Root}'");
        foreach (var d in new[] { "etc", "data", "home", "run", "var/log", "tmp" }) Directory.CreateDirectory(Path.Combine(Root, d));
        File.WriteAllText(P("/etc/passwd"), "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
        File.WriteAllText(P("/etc/group"), "root:x:0:\nnogroup:x:65534:\n");
        File.WriteAllText(P("/etc/shadow"), "root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n");
        File.WriteAllText(P("/etc/gshadow"), "root:*::\nnogroup:*::\n");
        Tools.Sh($"chmod 600 '{P("/etc/shadow")}' '{P("/etc/gshadow")}'");
        if (mountData)
        {
            var r = Tools.Sh($"mount -t tmpfs -o size=512m,mode=0755 aica-test '{P("/data")}'");
            if (r.ExitCode != 0) throw new InvalidOperationException($"cannot mount tmpfs (tests need root): {r}");
            Mounted = true;
        }
    }

    /// <summary>
    /// Root only: an initialised sandbox (<see cref="Init"/>) with the given members added in order, with uids 3001,
    /// 3002, ... (symlink layout). Disposed again when the setup fails, so no tmpfs is left mounted.
    /// </summary>
    public static Sandbox WithUsers(params string[] names)
    {
        Require.Root();
        var sb = new Sandbox();
        try
        {
            sb.Init();
            for (var i = 0; i < names.Length; i++) sb.AddUser(names[i], 3001 + i);
            return sb;
        }
        catch
        {
            sb.Dispose();
            throw;
        }
    }

    /// <summary>Root only: an initialised sandbox with no members yet.</summary>
    public static Sandbox Initialised() => WithUsers();

    /// <summary>Host path of a path inside the sandbox.</summary>
    public string P(string path) => Root + path;

    public RunResult Aica(params string[] args) => Tools.Run(Tools.AicaBin, ["--root", Root, .. args]);

    /// <summary>init with a fixed gid, asserted to succeed.</summary>
    public void Init(int gid = 2500)
    {
        var r = Aica("init", "--gid", gid.ToString());
        if (r.ExitCode != 0) throw new InvalidOperationException($"init failed: {r}");
    }

    /// <summary>Creates an account the way aica does (private group, shared group) and registers it.</summary>
    public void AddUser(string name, int uid, string group = "gpu-users", string layout = "symlink")
    {
        var r = Tools.Sh($"groupadd -P '{Root}' -g {uid} {name} && useradd -P '{Root}' -u {uid} -g {uid} -G {group} -s /bin/bash -d /home/{name} -M {name}");
        if (r.ExitCode != 0) throw new InvalidOperationException(r.ToString());
        File.AppendAllText(P("/data/config/users.txt"), $"{name}:{group}:{uid}:{uid}:/bin/bash:{layout}\n");
    }

    /// <summary>"owner:group mode type", with names from the sandbox's own /etc/passwd and /etc/group.</summary>
    public string Stat(string path)
    {
        var f = Tools.Sh($"stat -c '%u %g %a %F' '{P(path)}'").StdOut.Trim().Split(' ', 4);
        if (f.Length < 4) return "missing";
        string Name(string file, string id) =>
            File.ReadLines(P(file)).Select(l => l.Split(':')).FirstOrDefault(x => x.Length > 2 && x[2] == id)?[0] ?? id;
        return $"{Name("/etc/passwd", f[0])}:{Name("/etc/group", f[1])} {f[2]} {f[3]}";
    }

    public void Dispose()
    {
        if (Mounted) Tools.Sh($"umount -l '{P("/data")}'");
        Tools.Sh($"rm -rf --one-file-system '{Root}'");
    }
}
