using Aica.Native;

namespace Aica.Site;

/// <summary>The GPUs a node sees, as lines (<c>GPU 0: NVIDIA H200 (UUID: GPU-...)</c>), and where they were read.</summary>
/// <param name="Error">nvidia-smi's failure, when it was asked and failed (then no lines).</param>
public sealed record GpuList(IReadOnlyList<string> Lines, bool FromDriver, string? Error = null);

/// <summary>
/// The NVIDIA GPUs of this node, for doctor's <c>gpu.seen</c> and the node status. The driver's <c>/proc</c> entries
/// come first: reading them starts nothing, where <c>nvidia-smi</c> initialises every GPU (seconds on a node without
/// the persistence daemon), and the node status is written after every recover, before logins. nvidia-smi is asked
/// only where the driver's directory is not visible (a container).
/// </summary>
public static class Gpus
{
    public const string DriverDir = "/proc/driver/nvidia/gpus";

    /// <summary>The driver's GPUs (in PCI order, as nvidia-smi lists them), else nvidia-smi's; null when neither is there.</summary>
    public static GpuList? Read(ProcessRunner runner, string driverDir = DriverDir)
    {
        if (FromDriver(driverDir) is { } driver) return driver;
        if (runner.Which("nvidia-smi") is not { } smi) return null;
        var r = runner.Run(smi, "-L");
        return r.Ok
            ? new GpuList([.. r.StdOut.Split('\n').Where(l => l.StartsWith("GPU ", StringComparison.Ordinal)).Select(l => l.Trim()).Take(64)], FromDriver: false)
            : new GpuList([], FromDriver: false, r.Brief);
    }

    private static GpuList? FromDriver(string driverDir)
    {
        string[] buses;
        try { buses = Directory.GetDirectories(driverDir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        Array.Sort(buses, StringComparer.Ordinal); // 0000:18:00.0 ...: PCI bus order
        var lines = new List<string>();
        foreach (var bus in buses.Take(64))
        {
            string? info;
            try { info = File.ReadAllText(Path.Combine(bus, "information")); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { info = null; }
            lines.Add(Line(lines.Count, Path.GetFileName(bus), info));
        }
        return new GpuList(lines, FromDriver: true);
    }

    /// <summary>One GPU as nvidia-smi -L prints it, from the driver's <c>information</c> file ("Model:", "GPU UUID:").</summary>
    public static string Line(int index, string bus, string? information)
    {
        string? model = null, uuid = null;
        foreach (var line in (information ?? "").Split('\n'))
        {
            var colon = line.IndexOf(':');
            if (colon < 0) continue;
            var value = line[(colon + 1)..].Trim();
            switch (line[..colon].Trim())
            {
                case "Model": model = value; break;
                case "GPU UUID": uuid = value; break;
            }
        }
        return $"GPU {index}: {model ?? bus}{(uuid is null ? "" : $" (UUID: {uuid})")}";
    }
}
