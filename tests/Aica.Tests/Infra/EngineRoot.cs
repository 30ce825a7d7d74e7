using Aica.Accounts;
using Aica.Engine;
using Aica.IO;

namespace Aica.Tests.Infra;

/// <summary>The desired-state engine on a temporary root, for in-process specs.</summary>
internal static class EngineRoot
{
    /// <summary>
    /// Writes root's lines to etc/passwd and etc/group under <paramref name="root"/>, opens it, and gives an engine
    /// context whose account changes go through <paramref name="runner"/>. The caller disposes the file system.
    /// </summary>
    public static (RootedFs Fs, EngineContext Ctx) Open(string root, ProcessRunner runner)
    {
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        File.WriteAllText(Path.Combine(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n");
        File.WriteAllText(Path.Combine(root, "etc/group"), "root:x:0:\n");
        var fs = new RootedFs(root);
        return (fs, new EngineContext(fs, runner, new Clock()).WithAccountService(new AccountService(fs, runner)));
    }
}
