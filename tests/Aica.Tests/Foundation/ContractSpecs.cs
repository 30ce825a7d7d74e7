using System.Diagnostics;
using System.Text.Json;
using Aica.Tests.Infra;

namespace Aica.Tests.Foundation;

/// <summary>SPEC §7 process-level contract of dist/aica.</summary>
[Trait("level", "blackbox")]
public sealed class ContractSpecs
{
    [Theory]
    [InlineData("recover")]
    [InlineData("init")]
    [InlineData("recover", "--dry-run")]
    [InlineData("doctor")]
    public void Json_output_is_one_document_and_nothing_else_on_stdout(params string[] args)
    {
        using var sb = Sandbox.WithUsers("alice");
        var r = sb.Aica(["--json", .. args]);
        Assert.True(r.ExitCode is 0 or 1, r.ToString());
        using var doc = JsonDocument.Parse(r.StdOut);
        Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
    }

    [Fact]
    public async Task Sigterm_while_waiting_for_the_lock_exits_130()
    {
        using var sb = Sandbox.Initialised();
        using var fs = new Aica.IO.RootedFs(sb.Root);
        using var held = Aica.IO.FileLock.Acquire(fs, "/run/aica/aica.lock", TimeSpan.Zero, "test");
        var psi = new ProcessStartInfo(Tools.AicaBin) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "--root", sb.Root, "recover", "--wait", "60" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        // Wait until it is blocked on the lock (it has opened the lock file), then terminate it.
        var ct = TestContext.Current.CancellationToken;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!Directory.EnumerateFileSystemEntries($"/proc/{p.Id}/fd").Select(f => new FileInfo(f).LinkTarget).Any(t => t?.EndsWith("/run/aica/aica.lock") == true))
        {
            Assert.True(DateTime.UtcNow < deadline, "aica never waited on the lock");
            ct.WaitHandle.WaitOne(20);
        }
        Tools.Run("kill", ["-TERM", p.Id.ToString()]);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        Assert.True(p.ExitCode == 130, $"exit {p.ExitCode}: {await stderr}");
    }
}
