using Mesh.Agent.Http;

namespace Mesh.Agent.Tests.Http;

public class PooledBufferWriterTests
{
    [Fact]
    public void Growth_KeepsWhatWasWritten_InOrder()
    {
        using var w = new PooledBufferWriter(16);
        var expected = new List<byte>();
        for (var i = 0; i < 5000; i++)
        {
            var span = w.GetSpan(3);
            span[0] = (byte)i;
            span[1] = (byte)(i >> 8);
            span[2] = 0xAB;
            w.Advance(3);
            expected.AddRange([(byte)i, (byte)(i >> 8), 0xAB]);
        }
        Assert.Equal(expected, w.WrittenMemory.ToArray());
    }

    [Fact]
    public void Advance_PastTheBuffer_Throws()
    {
        using var w = new PooledBufferWriter(16);
        var room = w.GetSpan().Length;
        Assert.Throws<ArgumentOutOfRangeException>(() => w.Advance(room + 1));
    }
}
