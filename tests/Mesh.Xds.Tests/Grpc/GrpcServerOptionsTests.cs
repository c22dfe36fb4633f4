using Mesh.Xds.Grpc;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Mesh.Xds.Tests.Grpc;

public sealed class GrpcServerOptionsTests
{
    [Fact]
    public void ConfigureGrpc_Options_AppliedToKestrelHttp2Limits()
    {
        var kestrel = new KestrelServerOptions();
        var options = new GrpcServerOptions
        {
            MaxStreamsPerConnection = 5000,
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            InitialConnectionWindowSize = 8 * 1024 * 1024,
            InitialStreamWindowSize = 512 * 1024,
        };

        kestrel.ConfigureGrpc(options);

        var http2 = kestrel.Limits.Http2;
        Assert.Equal(5000, http2.MaxStreamsPerConnection);
        Assert.Equal(TimeSpan.FromSeconds(30), http2.KeepAlivePingDelay);
        Assert.Equal(TimeSpan.FromSeconds(5), http2.KeepAlivePingTimeout);
        Assert.Equal(8 * 1024 * 1024, http2.InitialConnectionWindowSize);
        Assert.Equal(512 * 1024, http2.InitialStreamWindowSize);
    }

    [Fact]
    public void ConfigureGrpc_KeepAliveOff_PingsDisabled()
    {
        var kestrel = new KestrelServerOptions();

        kestrel.ConfigureGrpc(new GrpcServerOptions { KeepAlivePingDelay = null });

        Assert.Equal(TimeSpan.MaxValue, kestrel.Limits.Http2.KeepAlivePingDelay);
    }

    [Fact]
    public void Defaults_HoldThousandsOfStreamsAndFourMebibyteMessages()
    {
        var options = new GrpcServerOptions();

        options.Validate();
        Assert.True(options.MaxStreamsPerConnection >= 1000);
        Assert.Equal(4 * 1024 * 1024, options.MaxReceiveMessageSize);
        Assert.NotNull(options.KeepAlivePingDelay);
    }

    [Theory]
    [InlineData(0, 1000, 1.0, 65_535, 65_535)]
    [InlineData(1024, 0, 1.0, 65_535, 65_535)]
    [InlineData(1024, 1000, 0.5, 65_535, 65_535)]
    [InlineData(1024, 1000, 1.0, 1000, 1000)]
    [InlineData(1024, 1000, 1.0, 65_535, 1_000_000)]
    public void Validate_OutOfRange_Throws(int maxReceive, int streams, double pingSeconds, int connectionWindow, int streamWindow)
    {
        var options = new GrpcServerOptions
        {
            MaxReceiveMessageSize = maxReceive,
            MaxStreamsPerConnection = streams,
            KeepAlivePingDelay = TimeSpan.FromSeconds(pingSeconds),
            InitialConnectionWindowSize = connectionWindow,
            InitialStreamWindowSize = streamWindow,
        };

        Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        Assert.Throws<ArgumentOutOfRangeException>(() => new KestrelServerOptions().ConfigureGrpc(options));
    }
}
