using Aica.Engine;
using Aica.Services;
using Aica.Site;

namespace Aica.Tests.Foundation;

/// <summary>doctor's informational GPU check falls back to nvidia-smi when the driver's /proc directory is absent.</summary>
[Trait("level", "unit")]
public sealed class DoctorGpuSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("aica-gpu-").FullName;

    public void Dispose() => Directory.Delete(_root, true);

    private sealed class FakeSmi(ProcessResult answer) : ProcessRunner
    {
        public List<string> Ran { get; } = [];
        public override string? Which(string program) => program == "nvidia-smi" ? "/usr/bin/nvidia-smi" : base.Which(program);
        public override Task<ProcessResult> RunAsync(string program, IEnumerable<string> args, CancellationToken ct = default,
            IReadOnlyDictionary<string, string?>? env = null, string? stdin = null)
        {
            if (program != "/usr/bin/nvidia-smi") return base.RunAsync(program, args, ct, env, stdin);
            Ran.Add($"{program} {string.Join(' ', args)}");
            return Task.FromResult(answer);
        }
    }

    private CheckResult Gpu(FakeSmi runner)
    {
        using var s = new AicaServices(new GlobalOptions(Root: _root), runner);
        return new DoctorService(s).Run(null, "test").Checks.Single(c => c.Id == "gpu.seen");
    }

    [Fact]
    public void Gpus_are_counted_with_nvidia_smi_and_a_failing_nvidia_smi_is_only_informational()
    {
        if (Directory.Exists("/proc/driver/nvidia/gpus")) Assert.Skip("this host has the NVIDIA driver directory; the fallback is not reached");
        var ok = new FakeSmi(new ProcessResult(0, "GPU 0: NVIDIA H200 (UUID: GPU-1)\nGPU 1: NVIDIA H200 (UUID: GPU-2)\n", ""));
        var c = Gpu(ok);
        Assert.Equal(["/usr/bin/nvidia-smi -L"], ok.Ran);
        Assert.Equal((CheckStatus.Pass, "2 NVIDIA GPU(s) seen by nvidia-smi"), (c.Status, c.Summary));
        var broken = Gpu(new FakeSmi(new ProcessResult(9, "", "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver")));
        Assert.Equal(CheckStatus.Pass, broken.Status);
        Assert.Contains("couldn't communicate", broken.Summary);
    }

    [Fact]
    public void Where_the_driver_lists_its_gpus_they_are_read_as_nvidia_smi_prints_them_and_nothing_is_started()
    {
        var driver = Path.Combine(_root, "gpus");
        foreach (var (bus, n) in new[] { ("0000:9a:00.0", 2), ("0000:18:00.0", 1) })
        {
            Directory.CreateDirectory(Path.Combine(driver, bus));
            File.WriteAllText(Path.Combine(driver, bus, "information"),
                $"Model: \t\t NVIDIA H200\nIRQ:   \t\t 17\nGPU UUID: \t GPU-{n}\nBus Location: \t {bus}\nDevice Minor: \t {n - 1}\n");
        }
        var smi = new FakeSmi(new ProcessResult(0, "GPU 0: something else\n", ""));
        var gpus = Gpus.Read(smi, driver);
        Assert.NotNull(gpus);
        Assert.True(gpus.FromDriver);
        Assert.Equal(["GPU 0: NVIDIA H200 (UUID: GPU-1)", "GPU 1: NVIDIA H200 (UUID: GPU-2)"], gpus.Lines); // PCI order
        Assert.Empty(smi.Ran);
        Assert.Equal("GPU 3: 0000:3b:00.0", Gpus.Line(3, "0000:3b:00.0", null)); // an unreadable information file
    }
}
