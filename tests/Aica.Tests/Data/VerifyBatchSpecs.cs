using System.Text.Json;
using Aica.Tests.Infra;

namespace Aica.Tests.Data;

/// <summary>
/// Issue 10 finding 4: data verify/report passed every dataset path to one setpriv as arguments; 9,000 datasets with
/// 250-character names hit E2BIG and every access check failed. The paths now go on stdin to xargs. The test lowers the
/// stack limit (the kernel allows a quarter of it for arguments) so 560 names overflow one command line, where
/// bench/adversarial.sh builds the full 9,000.
/// </summary>
[Trait("level", "blackbox")]
public sealed class VerifyBatchSpecs : IDisposable
{
    private const int StackBytes = 512 << 10; // argument space: 128 KiB, the least Linux gives
    private readonly Sandbox _sb = Sandbox.WithUsers("alice", "bob");

    public void Dispose() => _sb.Dispose();

    private RunResult Aica(params string[] args) =>
        Tools.Run("prlimit", [$"--stack={StackBytes}", "--", Tools.AicaBin, "--root", _sb.Root, .. args], timeoutSeconds: 240);

    private static string LongName(int i) => $"{i:D5}-" + new string((char)('a' + i % 26), 244); // 250 characters

    [Fact]
    public void Verify_and_report_check_hundreds_of_long_dataset_names_that_do_not_fit_one_command_line()
    {
        const int n = 560;
        for (var i = 0; i < n; i++) Directory.CreateDirectory(_sb.P($"/data/dataset/{LongName(i)}"));
        Directory.CreateDirectory(_sb.P($"/data/dataset/{LongName(7)[..10]}-locked"));
        Tools.Sh($"chown 3002:3002 '{_sb.P($"/data/dataset/{LongName(7)[..10]}-locked")}' && chmod 700 '{_sb.P($"/data/dataset/{LongName(7)[..10]}-locked")}'");
        // The test can fail: one argument per path would not fit in this process's argument space.
        var argMax = long.Parse(Tools.Run("prlimit", [$"--stack={StackBytes}", "--", "getconf", "ARG_MAX"]).StdOut.Trim());
        var argBytes = Enumerable.Range(0, n).Sum(i => (long)_sb.P($"/data/dataset/{LongName(i)}").Length + 1);
        Assert.True(argBytes > argMax, $"{argBytes} bytes of paths fit in ARG_MAX {argMax}: the test would prove nothing");

        var r = Aica("--json", "data", "verify", "--user", "alice");
        Assert.True(r.ExitCode == 1, r.ToString()); // only the locked one fails
        var results = JsonDocument.Parse(r.StdOut).RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(n + 1, results.Count);
        var failed = results.Where(x => !x.GetProperty("ok").GetBoolean()).ToList();
        var locked = Assert.Single(failed);
        Assert.EndsWith("-locked", locked.GetProperty("dataset").GetString());
        Assert.EndsWith("-locked", locked.GetProperty("blocking").GetString());

        var report = Aica("--json", "data", "report");
        Assert.True(report.ExitCode == 0, report.ToString());
        var text = File.ReadAllText(_sb.P(JsonDocument.Parse(report.StdOut).RootElement.GetProperty("text").GetString()!));
        Assert.DoesNotContain("the check as", text); // no "the check as alice failed: ..." for any dataset
    }
}
