using Aica.Accounts;
using Aica.Config;
using Aica.Engine;
using Aica.IO;
using static Aica.Native.Perms;

namespace Aica.Services;

public sealed record ImageResult(string Image, AicaConfig Config, ApplyReport Applied)
{
    public bool Failed => Applied.AnyFailed;
}

/// <summary>
/// aica init --image DIR: for admins who build node images (full reset). A fresh root has no aica state at all, so the
/// image itself must carry what starts recovery at boot: the unit and the link that enables it (what
/// <c>systemctl enable</c> makes). Everything else (accounts, homes, /etc files, PAM, the PATH link) is rebuilt by
/// that unit from /data. /data is not touched.
/// </summary>
public sealed class ImageService(AicaServices s)
{
    public static IReadOnlyList<Item> Items(AicaConfig config) =>
    [
        new FileItem(Templates.UnitPath, Templates.Unit(config), O(644), "unit.file"),
        new LinkItem(Templates.UnitWantsPath, Templates.UnitPath, "unit.enabled"),
    ];

    public async Task<ImageResult> Run(string image, CancellationToken ct)
    {
        var full = Path.GetFullPath(image);
        if (full == "/") throw AicaException.Usage("--image / is this server itself: run aica init without --image");
        if (!Directory.Exists(Path.Combine(full, "etc")) || !Directory.Exists(Path.Combine(full, "usr")))
            throw AicaException.Usage($"--image {image}: not an image root (no etc/ and usr/ in it)");
        if (Native.Sys.Euid != 0) throw AicaException.Refused("init --image must be run as root (the unit is root-owned)");
        // The unit's ExecStart is the install path of this server's config (the image's nodes share its /data layout).
        var config = s.ConfigExists ? s.LoadConfig() : new AicaConfig();
        using var fs = new RootedFs(full);
        var ctx = new EngineContext(fs, new AccountService(fs, s.Runner), s.Runner, config, s.Clock);
        var state = new DesiredState([new Unit(Phase.Etc, "image", null, Items(config))], []);
        var report = await new StateEngine(ctx).Apply(state, ct).ConfigureAwait(false);
        return new ImageResult(full, config, report);
    }
}
